package dropbox

import "testing"

func TestCheckServiceURL(t *testing.T) {
	t.Parallel()
	for u, ok := range map[string]bool{
		"https://api.dropboxapi.com":   true,
		"http://127.0.0.1:4567":        true,
		"http://localhost:80/x":        true,
		"http://[::1]:9999":            true,
		"http://api.dropboxapi.com":    false,
		"ftp://127.0.0.1":              false,
		"api.dropboxapi.com":           false,
		"https://":                     false,
		"http://127.0.0.1.example.com": false,
	} {
		if err := CheckServiceURL(u); (err == nil) != ok {
			t.Errorf("CheckServiceURL(%q) = %v, want ok=%v", u, err, ok)
		}
	}
}
