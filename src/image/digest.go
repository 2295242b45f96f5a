package image

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// DigestPrefix starts every image digest: "sha256:<hex>" of the payload bytes.
const DigestPrefix = "sha256:"

// FileDigest returns the digest of a file's bytes in the form payload digests have.
func FileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("digest %s: %w", path, err)
	}
	return DigestPrefix + hex.EncodeToString(h.Sum(nil)), nil
}
