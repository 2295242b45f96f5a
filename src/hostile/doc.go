// Package hostile is the project's hostile-tenant suite: each case plays a tenant whose guest is
// root or whose droplet is crafted, and asserts that nothing escaped.
package hostile
