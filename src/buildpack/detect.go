package buildpack

import "fmt"

// unsupportedHint says what the buildpack stages; it ends every "not a unik app" message.
const unsupportedHint = "The unik buildpack stages Go source apps (go.mod), prebuilt Linux x86-64 programs " +
	"(an executable at the top of the app, or a Procfile with a web: line) and apps that supply buildpacks " +
	"prepared (cf push -b SUPPLY_BUILDPACK -b unik_buildpack)."

// Detect says whether the app in dir is one the buildpack stages, and why. It does not see the
// deps directory (the lifecycle runs detect before any supply buildpack); an app prepared by
// supply buildpacks is staged with detection skipped (-b ... -b unik_buildpack).
func Detect(dir string) (reason string, err error) {
	a, err := inspect(dir)
	if err != nil {
		return "", err
	}
	switch {
	case a.goMod:
		return "Go source app (go.mod)", nil
	case a.web != "":
		return fmt.Sprintf("Procfile web: %s", a.web), nil
	case len(a.executables) > 0:
		return fmt.Sprintf("Linux program ./%s", a.executables[0]), nil
	}
	why := "no go.mod, no Procfile and no executable Linux x86-64 program at the top of the app directory."
	if a.hasProcfile {
		why = "no go.mod, a Procfile without a web: line and no executable Linux x86-64 program at the top of the app directory."
	}
	return "", fail(ErrUnsupported, "unik buildpack: not a unik app: "+why+" "+unsupportedHint)
}
