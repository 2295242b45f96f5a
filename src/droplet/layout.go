package droplet

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"

	"github.com/unik-cf/unik/src/image"
)

// Names of the droplet layout.
const (
	Dir         = ".unik"        // the image directory inside the app directory
	PayloadFile = "payload.cpio" // the payload inside Dir
	ImageFile   = "image.json"   // the Image record inside Dir
	AppDir      = "app"          // the app directory inside the droplet

	// PayloadPath and ImagePath are the paths inside the droplet archive (without "./").
	PayloadPath = AppDir + "/" + Dir + "/" + PayloadFile
	ImagePath   = AppDir + "/" + Dir + "/" + ImageFile

	maxImageJSON = 2 << 20
)

// Layout names the image files of one app directory: the build directory during staging,
// ./app of an extracted droplet on a cell.
type Layout struct{ AppDir string }

// Dir is the image directory, AppDir/.unik.
func (l Layout) Dir() string { return filepath.Join(l.AppDir, Dir) }

// Payload is AppDir/.unik/payload.cpio.
func (l Layout) Payload() string { return filepath.Join(l.AppDir, Dir, PayloadFile) }

// Image is AppDir/.unik/image.json.
func (l Layout) Image() string { return filepath.Join(l.AppDir, Dir, ImageFile) }

// Image is the JSON record of image.json: an image.Result with the contract's field names.
type Image struct {
	Manifest image.Manifest `json:"manifest"`
	Digest   string         `json:"digest"` // "sha256:<64 hex>" of the payload bytes
	Size     int64          `json:"size"`   // payload size in bytes
}

// FromResult converts the image builder's result.
func FromResult(r image.Result) Image {
	return Image{Manifest: r.Manifest, Digest: r.Digest, Size: r.Size}
}

// Result converts back to the image builder's type.
func (i Image) Result() image.Result {
	return image.Result{Manifest: i.Manifest, Digest: i.Digest, Size: i.Size}
}

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// Validate checks the fields a reader relies on.
func (i Image) Validate() error {
	switch {
	case !digestRE.MatchString(i.Digest):
		return fmt.Errorf("%s: digest %q is not sha256:<64 lower-case hex digits>", ImageFile, i.Digest)
	case i.Size <= 0:
		return fmt.Errorf("%s: size %d is not positive", ImageFile, i.Size)
	case i.Manifest.SchemaVersion != image.SchemaVersion:
		return fmt.Errorf("%s: manifest schema_version %d, this build understands %d; restage the app",
			ImageFile, i.Manifest.SchemaVersion, image.SchemaVersion)
	case i.Manifest.StartCommand == "":
		return fmt.Errorf("%s: manifest has no start_command", ImageFile)
	}
	return nil
}

// Encode returns the image.json bytes.
func (i Image) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(i, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", ImageFile, err)
	}
	return append(b, '\n'), nil
}

// DecodeImage parses and validates image.json bytes. Errors wrap ErrCorrupt.
func DecodeImage(data []byte) (Image, error) {
	var i Image
	if err := json.Unmarshal(data, &i); err != nil {
		return Image{}, fmt.Errorf("%w: %s: %v", ErrCorrupt, ImageFile, err)
	}
	if err := i.Validate(); err != nil {
		return Image{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return i, nil
}
