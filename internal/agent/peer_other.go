//go:build !linux && !darwin && !freebsd

package agent

import "errors"

// sockPeerUID is not implemented here: the agent refuses every client, and
// commands do not use it.
func sockPeerUID(int) (int, error) {
	return 0, errors.New("the agent cannot check its clients' uid on this system")
}
