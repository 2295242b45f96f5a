//go:build linux

package guestinit

import "fmt"

// appIdentity returns the manifest with the app's identity set to vcap (AppUser, AppUID,
// AppGID), and a line for the console when the manifest asked for another: an image is the
// tenant's, and a manifest that says uid 0 must not make the app root. Images built by this
// project carry vcap already, so this is no reason to fail the boot.
func appIdentity(m Manifest) (Manifest, string) {
	var note string
	if m.UID != AppUID || m.GID != AppGID || (m.User != "" && m.User != AppUser) {
		note = fmt.Sprintf("the image's manifest asks to run the app as user %q uid %d gid %d; ignored: it runs as %s (uid %d, gid %d)",
			m.User, m.UID, m.GID, AppUser, AppUID, AppGID)
	}
	m.User, m.UID, m.GID = AppUser, AppUID, AppGID
	return m, note
}
