# frozen_string_literal: true

# RSpec setup for the release's tests: template tests (rendered through
# spec/support/bosh_template_standin.rb, a stand-in for the bosh-template gem, which cannot be
# installed here) and the cf-deployment ops-file test (bosh int through the bosh CLI that
# scripts/build-bosh-cli builds). Run: rspec (from the repository root) or scripts/test-release.
require 'json'
require 'yaml'
require_relative 'support/bosh_template_standin'

REPO_ROOT = File.expand_path('..', __dir__)

module ReleaseHelpers
  def release
    Bosh::Template::Test::ReleaseDir.new(REPO_ROOT)
  end

  # the least a deployment must give the unik-cell job: its mTLS identity and loggregator's
  def required_properties
    {
      'tls' => { 'ca_cert' => "CELL CA\n", 'cert' => "CELL CERT\n", 'key' => "CELL KEY\n" },
      'loggregator' => { 'ca_cert' => "LOG CA\n", 'cert' => "LOG CERT\n", 'key' => "LOG KEY\n" },
    }
  end

  def deep_merge(a, b)
    a.merge(b) { |_k, x, y| x.is_a?(Hash) && y.is_a?(Hash) ? deep_merge(x, y) : y }
  end
end

RSpec.configure do |c|
  c.include ReleaseHelpers
  c.disable_monkey_patching!
end
