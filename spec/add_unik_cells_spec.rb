# frozen_string_literal: true

require_relative 'spec_helper'
require 'open3'

# manifests/operations/add-unik-cells.yml against the real cf-deployment v58 manifest
# (scripts/cf-deployment-file), through
# the real `bosh int` (the CLI scripts/build-bosh-cli builds; UNIK_BOSH_CLI names it, else the
# script is run). Fails, never skips, when the CLI or the fixture is missing.
RSpec.describe 'manifests/operations/add-unik-cells.yml' do
  # ../shared/fixtures beside the clone, else a pinned, checksummed download (the script)
  def self.cf_deployment_file(name)
    out, status = Open3.capture2(File.join(REPO_ROOT, 'scripts/cf-deployment-file'), name)
    raise "scripts/cf-deployment-file #{name} failed: #{out}" unless status.success?

    out.strip
  end
  cf_deployment = cf_deployment_file('cf-deployment.yml')
  ops_file = File.join(REPO_ROOT, 'manifests/operations/add-unik-cells.yml')

  def self.bosh_cli
    @bosh_cli ||= ENV.fetch('UNIK_BOSH_CLI') do
      out, status = Open3.capture2(File.join(REPO_ROOT, 'scripts/build-bosh-cli'))
      raise "scripts/build-bosh-cli failed: #{out}" unless status.success?

      out.strip
    end
  end

  def self.interpolate(*args)
    out, err, status = Open3.capture3(bosh_cli, 'interpolate', *args)
    raise "bosh int #{args.join(' ')} failed: #{err}#{out}" unless status.success?

    YAML.safe_load(out, aliases: true)
  end

  def self.manifest(cf_deployment, *ops)
    @manifests ||= {}
    @manifests[ops] ||= interpolate(cf_deployment, *ops.flat_map { |o| ['-o', o] })
  end

  let(:manifest) { self.class.manifest(cf_deployment, ops_file) }
  let(:groups) { manifest['instance_groups'].to_h { |g| [g['name'], g] } }

  def job(group, name)
    groups.fetch(group)['jobs'].find { |j| j['name'] == name } || raise("no job #{name} in #{group}")
  end

  it 'has its inputs' do
    expect(File).to exist(cf_deployment)
    expect(File.read(cf_deployment)).to include('manifest_version: v58.0.0')
  end

  describe 'Cloud Controller' do
    let(:cc) { job('api', 'cloud_controller_ng')['properties']['cc'] }

    it 'adds the unik stack: built on cflinuxfs4, run on unik' do
      expect(cc['stacks']).to include('name' => 'unik', 'build_rootfs_image' => 'cflinuxfs4', 'run_rootfs_image' => 'unik',
                                      'description' => a_string_including('microVM'))
      expect(cc['stacks'].map { |s| s['name'] }).to include('cflinuxfs4')
      expect(cc['default_stack']).to eq('cflinuxfs4')
    end

    it 'maps the unik stack to the buildpack lifecycle and a droplet path in every CC job' do
      [%w[api cloud_controller_ng], %w[cc-worker cloud_controller_worker],
       %w[scheduler cloud_controller_clock], %w[scheduler cc_deployment_updater]].each do |group, name|
        diego = job(group, name)['properties']['cc']['diego']
        expect(diego['lifecycle_bundles']).to include('buildpack/unik' => diego['lifecycle_bundles']['buildpack/cflinuxfs4'])
        expect(diego['droplet_destinations']).to include('unik' => '/home/vcap', 'cflinuxfs4' => '/home/vcap')
      end
    end

    it 'installs the unik buildpack from the unik release, after the stock buildpacks' do
      expect(cc['install_buildpacks'].last).to eq('name' => 'unik_buildpack', 'package' => 'unik-buildpack')
      expect(cc['install_buildpacks'].size).to be > 1
      expect(groups['api']['jobs']).to include('name' => 'unik-buildpack', 'release' => 'unik')
    end
  end

  describe 'the unik-cell instance group' do
    let(:group) { groups.fetch('unik-cell') }
    let(:cell) { job('unik-cell', 'unik-cell') }

    it 'runs the unik cell, a local route emitter and cfdot' do
      expect(group['jobs'].map { |j| [j['name'], j['release']] }).to eq(
        [%w[unik-cell unik], %w[route_emitter diego], %w[cfdot diego]]
      )
      expect(group).to include('stemcell' => 'default', 'networks' => [{ 'name' => 'default' }])
      expect(group['instances']).to be >= 1
    end

    it "reuses cf-deployment's certificates" do
      expect(cell['properties']['tls']).to eq('ca_cert' => '((diego_rep_agent_v2.ca))',
                                              'cert' => '((diego_rep_agent_v2.certificate))',
                                              'key' => '((diego_rep_agent_v2.private_key))')
      expect(cell['properties']['loggregator']).to include('use_v2_api' => true, 'cert' => '((loggregator_tls_agent.certificate))')
      variables = manifest['variables'].map { |v| v['name'] }
      used = YAML.dump(group).scan(/\(\(([\w-]+)(?:\.[\w]+)?\)\)/).flatten.uniq
      expect(used).not_to be_empty
      expect(used - variables).to be_empty
    end

    it 'gets the loggregator agent (and the other agents) from the addons' do
      stemcell_os = manifest['stemcells'].find { |s| s['alias'] == group['stemcell'] }['os']
      addon = manifest['addons'].find { |a| a['name'] == 'loggregator_agent' }
      expect(addon['jobs'].map { |j| j['name'] }).to eq(['loggregator_agent'])
      expect(addon['include']['stemcell']).to include('os' => stemcell_os)
      excluded = (addon.dig('exclude', 'jobs') || []).map { |j| j['name'] }
      expect(group['jobs'].map { |j| j['name'] } & excluded).to be_empty
    end

    it 'is reachable at <instance id>.cell.service.cf.internal, the rep URL the cell advertises' do
      aliases = manifest['addons'].find { |a| a['name'] == 'bosh-dns-aliases' }['jobs'][0]['properties']['aliases']
      cell_alias = aliases.find { |a| a['domain'] == '_.cell.service.cf.internal' }
      expect(cell_alias['targets']).to include('query' => '_', 'instance_group' => 'unik-cell', 'deployment' => 'cf',
                                               'network' => 'default', 'domain' => 'bosh')
    end

    it 'sets only properties the unik-cell job declares, and its templates render with them' do
      declared = release.job('unik-cell').property_definitions.keys
      flatten = lambda do |hash, prefix = nil|
        hash.flat_map do |k, v|
          name = [prefix, k].compact.join('.')
          v.is_a?(Hash) && !declared.include?(name) ? flatten.call(v, name) : [name]
        end
      end
      expect(flatten.call(cell['properties']) - declared).to be_empty
      job = release.job('unik-cell')
      job.spec['templates'].each_value do |dst|
        expect { job.template(dst).render(cell['properties']) }.not_to raise_error
      end
    end
  end

  describe 'composition' do
    it 'is idempotent' do
      twice = self.class.manifest(cf_deployment, ops_file, ops_file)
      expect(twice).to eq(manifest)
    end

    it 'keeps its stack mappings when applied after ops files that replace them (add-cflinuxfs5)' do
      fs5 = self.class.cf_deployment_file('cf-deployment-ops-add-cflinuxfs5.yml')
      both = self.class.manifest(cf_deployment, fs5, ops_file)
      cc = both['instance_groups'].find { |g| g['name'] == 'api' }['jobs'].find { |j| j['name'] == 'cloud_controller_ng' }
      expect(cc['properties']['cc']['diego']['lifecycle_bundles'].keys).to include('buildpack/unik', 'buildpack/cflinuxfs5')
      expect(cc['properties']['cc']['stacks'].map { |s| s['name'] }).to include('unik', 'cflinuxfs5')
    end
  end
end
