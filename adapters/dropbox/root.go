package dropbox

// CleanRoot checks a store folder as Options.Root takes it and returns it in
// the form the adapter uses ("" for the top folder). It makes no request, so
// a caller can reject a bad folder before asking for credentials.
func CleanRoot(root string) (string, error) { return cleanRoot(root) }
