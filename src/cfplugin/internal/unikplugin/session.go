package unikplugin

import (
	"errors"
	"fmt"

	plugin_models "code.cloudfoundry.org/cli/v8/plugin/models"

	"github.com/unik-cf/unik/src/cfplugin/internal/ccv3"
)

// Connection is the part of plugin.CliConnection the commands use.
type Connection interface {
	HasAPIEndpoint() (bool, error)
	ApiEndpoint() (string, error)
	IsLoggedIn() (bool, error)
	AccessToken() (string, error)
	IsSSLDisabled() (bool, error)
	GetCurrentOrg() (plugin_models.Organization, error)
	GetCurrentSpace() (plugin_models.Space, error)
	Username() (string, error)
}

// Errors for a cf CLI that cannot reach a space yet; the texts follow the cf CLI's own.
var (
	ErrNoAPI       = errors.New("No API endpoint set. Use 'cf login' or 'cf api' to target an endpoint.")
	ErrNotLoggedIn = errors.New("Not logged in. Use 'cf login' or 'cf login --sso' to log in.")
	ErrNoSpace     = errors.New("No space targeted, use 'cf target -s SPACE' to target a space.")
)

// Target is where the user points the cf CLI.
type Target struct {
	API       string
	OrgName   string
	SpaceName string
	SpaceGUID string
	User      string
}

// resolveTarget checks API endpoint, login and targeted space, in that order.
func resolveTarget(conn Connection) (Target, error) {
	if ok, err := conn.HasAPIEndpoint(); err != nil {
		return Target{}, fmt.Errorf("read cf CLI config: %w", err)
	} else if !ok {
		return Target{}, ErrNoAPI
	}
	if ok, err := conn.IsLoggedIn(); err != nil {
		return Target{}, fmt.Errorf("read cf CLI config: %w", err)
	} else if !ok {
		return Target{}, ErrNotLoggedIn
	}
	space, err := conn.GetCurrentSpace()
	if err != nil {
		return Target{}, fmt.Errorf("read targeted space: %w", err)
	}
	if space.Guid == "" {
		return Target{}, ErrNoSpace
	}
	org, err := conn.GetCurrentOrg()
	if err != nil {
		return Target{}, fmt.Errorf("read targeted org: %w", err)
	}
	api, err := conn.ApiEndpoint()
	if err != nil {
		return Target{}, fmt.Errorf("read API endpoint: %w", err)
	}
	user, err := conn.Username()
	if err != nil {
		return Target{}, fmt.Errorf("read user name: %w", err)
	}
	return Target{API: api, OrgName: org.Name, SpaceName: space.Name, SpaceGUID: space.Guid, User: user}, nil
}

// newClient builds a Cloud Controller client from the cf CLI's session.
func newClient(conn Connection, t Target) (*ccv3.Client, error) {
	skip, err := conn.IsSSLDisabled()
	if err != nil {
		return nil, fmt.Errorf("read cf CLI config: %w", err)
	}
	return ccv3.New(ccv3.Config{APIEndpoint: t.API, Token: conn.AccessToken, SkipTLSVerify: skip})
}

// appNotFound names the app, the space and the org.
func appNotFound(name string, t Target) error {
	return fmt.Errorf("App '%s' not found in space '%s' of org '%s'.", name, t.SpaceName, t.OrgName)
}
