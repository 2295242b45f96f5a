// Package recipe reads the run request the rep builds from a DesiredLRP (executor.RunInfo:
// setup, action, monitor, check definition, env, ports) and says what a unik instance must do:
// which droplet to boot with which start command and environment, which health checks to run
// from the host. It understands Cloud Controller's buildpack recipe (a Download of the droplet,
// a codependent Run of /tmp/lifecycle/launcher, a healthcheck monitor or a CheckDefinition) and
// a plain Run of a program; anything it cannot honour is an error saying what is unsupported,
// and the instance fails with that reason.
package recipe
