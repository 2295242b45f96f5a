module github.com/unik-cf/unik/src/buildpack/lifecycle

go 1.26.8

require code.cloudfoundry.org/buildpackapplifecycle v0.0.0-20240416152624-ced564efa206

require (
	code.cloudfoundry.org/archiver v0.0.0-20240216143500-7a92f5fdc163 // indirect
	code.cloudfoundry.org/bytefmt v0.0.0-20231017140541-3b893ed0421b // indirect
	code.cloudfoundry.org/cacheddownloader v0.0.0-20240214143422-a406e3779b66 // indirect
	code.cloudfoundry.org/credhub-cli v0.0.0-20240617130427-da5c8e6f4033 // indirect
	code.cloudfoundry.org/goshims v0.30.0 // indirect
	code.cloudfoundry.org/lager/v3 v3.0.3 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/cloudfoundry/go-socks5 v0.0.0-20180221174514-54f73bdb8a8e // indirect
	github.com/cloudfoundry/socks5-proxy v0.2.118 // indirect
	github.com/cyphar/filepath-securejoin v0.2.4 // indirect
	github.com/go-task/slim-sprig/v3 v3.0.0 // indirect
	github.com/google/pprof v0.0.0-20240528025155-186aa0362fba // indirect
	github.com/hashicorp/go-version v1.7.0 // indirect
	github.com/onsi/ginkgo/v2 v2.19.0 // indirect
	github.com/openzipkin/zipkin-go v0.4.2 // indirect
	golang.org/x/crypto v0.24.0 // indirect
	golang.org/x/net v0.26.0 // indirect
	golang.org/x/sys v0.21.0 // indirect
	golang.org/x/tools v0.22.0 // indirect
	gopkg.in/yaml.v2 v2.4.0 // indirect
)
