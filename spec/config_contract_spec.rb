# frozen_string_literal: true

require_relative 'spec_helper'
require 'open3'
require 'tmpdir'

# The unik-cell job's rendered (and auto-resolved) config must satisfy the cell's own loader:
# spec/testdata/configcheck decodes it with src/cell/config (unknown fields refused), fills the
# defaults and validates. Built here with the Go on PATH from the root module.
RSpec.describe 'the unik-cell config against src/cell/config' do
  let(:job) { release.job('unik-cell') }

  def self.checker
    @checker ||= begin
      out = File.join(Dir.mktmpdir('configcheck'), 'configcheck')
      log, status = Open3.capture2e('go', 'build', '-o', out, './spec/testdata/configcheck', chdir: REPO_ROOT)
      raise "building spec/testdata/configcheck failed:\n#{log}" unless status.success?

      out
    end
  end

  def check(props)
    Dir.mktmpdir do |dir|
      FileUtils.mkdir_p(File.join(dir, 'job/config'))
      props = deep_merge(required_properties, props)
      File.write(File.join(dir, 'job/config/unik-cell.json'), job.template('config/unik-cell.json').render(props))
      File.write(File.join(dir, 'launcher'), job.template('bin/unik-cell').render(props))
      env = { 'UNIK_CELL_JOB_DIR' => File.join(dir, 'job'), 'UNIK_CELL_DATA_DIR' => dir }
      log, status = Open3.capture2e(env, 'bash', File.join(dir, 'launcher'), '--resolve-only')
      raise "bin/unik-cell --resolve-only failed:\n#{log}" unless status.success?

      out, err, status = Open3.capture3(self.class.checker, File.join(dir, 'unik-cell.json'))
      expect(status).to be_success, err
      JSON.parse(out)
    end
  end

  it 'loads with the defaults' do
    cfg = check({})
    expect(cfg['cell_id']).to eq(Bosh::Template::Test::InstanceSpec::DEFAULTS['id'])
    expect(cfg['vm']['memory_capacity_mb']).to be > 0
    expect(cfg['vm']['disk_capacity_mb']).to be > 0
    expect(cfg['loggregator']['loggregator_api_port']).to eq(3458)
  end

  it 'loads with every unik property set' do
    cfg = check('diego' => { 'rep' => { 'placement_tags' => ['a'], 'zone' => 'z9' },
                             'executor' => { 'memory_capacity_mb' => 2048, 'disk_capacity_mb' => 4096 } },
                'unik' => { 'accel' => 'tcg', 'vm' => { 'cpus' => 2, 'default_memory_mb' => 64, 'max_instances' => 10 },
                            'network' => { 'mode' => 'user', 'dns' => ['10.0.0.2'], 'dns_upstreams' => ['10.0.0.3'],
                                           'egress' => true } })
    expect(cfg['vm']).to include('memory_capacity_mb' => 2048, 'accel' => 'tcg', 'cpus' => 2)
    expect(cfg['placement_tags']).to eq(['a'])
  end
end
