// Package push does what Cloud Controller does for a buildpack app on the unik stack, without
// Cloud Controller: it packs an app directory into a droplet (./app, ./staging_info.yml and,
// when staged, the unik image at ./app/.unik as the unik buildpack leaves it), serves the
// droplet over HTTP, and desires the LRP with the fields CC sets (process guid
// <app-guid>-<version>, domain cf-apps, root_fs preloaded:unik, a checksummed Download of the
// droplet, a codependent Run of /tmp/lifecycle/launcher, the healthcheck monitor and check
// definition, LANG, PORT, VCAP_APPLICATION, VCAP_SERVICES, metric tags, routes...). It is for
// local Diego, the integration suite and the benchmark.
package push
