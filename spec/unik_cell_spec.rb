# frozen_string_literal: true

require_relative 'spec_helper'
require 'tmpdir'
require 'open3'

RSpec.describe 'the unik-cell job' do
  let(:job) { release.job('unik-cell') }
  let(:instance) { Bosh::Template::Test::InstanceSpec.new('az' => 'z2', 'index' => 3) }
  let(:job_dir) { '/var/vcap/jobs/unik-cell' }

  def config(props = {})
    JSON.parse(job.template('config/unik-cell.json').render(deep_merge(required_properties, props), spec: instance))
  end

  describe 'spec' do
    it 'gives every property a description and every optional one a default' do
      required = %w[tls.ca_cert tls.cert tls.key loggregator.ca_cert loggregator.cert loggregator.key]
      job.property_definitions.each do |name, definition|
        expect(definition['description'].to_s).not_to be_empty, "#{name} has no description"
        next if required.include?(name)

        expect(definition).to have_key('default'), "#{name} has no default"
      end
    end

    it 'uses the rep job property names where they mean the same' do
      expect(job.property_definitions.keys).to include(
        'diego.rep.zone', 'diego.rep.placement_tags', 'diego.rep.optional_placement_tags',
        'diego.rep.preloaded_rootfses', 'diego.rep.listen_addr_securable', 'diego.rep.listen_addr_admin',
        'diego.rep.evacuation_timeout_in_seconds', 'diego.rep.bbs.api_location', 'diego.rep.locket.api_location',
        'diego.executor.memory_capacity_mb', 'diego.executor.disk_capacity_mb',
        'tls.ca_cert', 'tls.cert', 'tls.key',
        'loggregator.use_v2_api', 'loggregator.v2_api_port', 'loggregator.ca_cert', 'loggregator.cert', 'loggregator.key'
      )
    end

    it 'ships the cell binary, the kernel and QEMU' do
      expect(job.spec['packages']).to contain_exactly('unik-cell', 'unik-kernel', 'qemu')
    end
  end

  describe 'config/unik-cell.json with the defaults' do
    subject(:cfg) { config }

    it 'identifies the cell by its instance' do
      expect(cfg).to include('cell_id' => instance.to_h['id'], 'cell_index' => 3, 'zone' => 'z2',
                             'session_name' => 'unik-cell', 'log_level' => 'info')
    end

    it 'talks to the BBS and Locket of cf-deployment over mutual TLS' do
      expect(cfg).to include(
        'bbs_address' => 'https://bbs.service.cf.internal:8889',
        'locket_address' => 'locket.service.cf.internal:8891',
        'ca_cert_file' => "#{job_dir}/config/certs/tls_ca.crt",
        'cert_file' => "#{job_dir}/config/certs/tls.crt",
        'key_file' => "#{job_dir}/config/certs/tls.key",
        'locket_ca_cert_file' => "#{job_dir}/config/certs/tls_ca.crt",
        'locket_client_cert_file' => "#{job_dir}/config/certs/tls.crt",
        'locket_client_key_file' => "#{job_dir}/config/certs/tls.key"
      )
    end

    it 'serves the rep API like a Diego cell' do
      expect(cfg).to include('listen_addr' => '127.0.0.1:1800', 'listen_addr_securable' => '0.0.0.0:1801',
                             'advertise_domain' => 'cell.service.cf.internal')
    end

    it 'advertises only the unik rootfs and no placement tags' do
      expect(cfg).to include('preloaded_root_fs' => ['unik:/var/vcap/packages/unik-kernel'],
                             'placement_tags' => [], 'optional_placement_tags' => [])
    end

    it 'uses the rep timings' do
      expect(cfg).to include('polling_interval' => '30s', 'evacuation_timeout' => '600s',
                             'evacuation_polling_interval' => '10s',
                             'container_metrics_report_interval' => '15s', 'graceful_shutdown_interval' => '10s')
    end

    it 'emits through the local loggregator agent (v2 API)' do
      expect(cfg['loggregator']).to include(
        'loggregator_api_port' => 3458,
        'loggregator_ca_path' => "#{job_dir}/config/certs/loggregator/ca.crt",
        'loggregator_cert_path' => "#{job_dir}/config/certs/loggregator/client.crt",
        'loggregator_key_path' => "#{job_dir}/config/certs/loggregator/client.key",
        'loggregator_job_deployment' => 'cf', 'loggregator_job_name' => 'unik-cell',
        'loggregator_job_index' => instance.to_h['id'], 'loggregator_job_ip' => '10.0.16.5',
        'loggregator_source_id' => 'unik-cell', 'loggregator_app_metric_exclusion_filter' => []
      )
    end

    it 'boots the packaged kernel with the packaged QEMU and init' do
      expect(cfg['vm']).to include(
        'state_dir' => '/var/vcap/data/unik-cell/state', 'cache_dir' => '/var/vcap/data/unik-cell/cache',
        'kernel_dir' => '/var/vcap/packages/unik-kernel',
        'init_path' => '/var/vcap/packages/unik-cell/bin/unik-init',
        'shim_path' => '/var/vcap/packages/unik-cell/bin/unik-shim', 'jail' => 'on',
        'qemu' => '/var/vcap/packages/qemu/bin/qemu-system-x86_64',
        'accel' => 'auto', 'memory_capacity_mb' => 'auto', 'disk_capacity_mb' => 'auto',
        'max_containers' => 250, 'default_memory_mb' => 128, 'cpus' => 1
      )
    end

    it 'puts the VMs on the cell bridge behind the cell address' do
      expect(cfg['vm']['network']).to eq(
        'mode' => 'bridge', 'bridge' => 'unik0', 'subnet' => '10.213.0.0/24', 'host_ip' => '10.0.16.5',
        'port_range' => [61_001, 65_000], 'dns' => [], 'dns_upstreams' => [], 'egress' => false
      )
    end
  end

  describe 'config/unik-cell.json with properties' do
    it 'passes placement tags through' do
      cfg = config('diego' => { 'rep' => { 'placement_tags' => %w[isolated gpu-free],
                                            'optional_placement_tags' => ['fast'] } })
      expect(cfg['placement_tags']).to eq(%w[isolated gpu-free])
      expect(cfg['optional_placement_tags']).to eq(['fast'])
    end

    it 'lets diego.rep.zone override the AZ' do
      expect(config('diego' => { 'rep' => { 'zone' => 'rack-7' } })['zone']).to eq('rack-7')
    end

    it 'takes fixed capacities and the unik engine settings' do
      cfg = config(
        'diego' => { 'executor' => { 'memory_capacity_mb' => 30_000, 'disk_capacity_mb' => '90000' } },
        'unik' => { 'accel' => 'kvm', 'kernel_dir' => '/var/vcap/packages/other-kernel',
                    'vm' => { 'cpus' => 2, 'default_memory_mb' => 256, 'max_instances' => 100 },
                    'network' => { 'subnet' => '10.99.0.0/24', 'host_port_range' => [50_000, 50_999],
                                   'dns' => ['10.0.0.2'], 'dns_upstreams' => ['169.254.0.2:53'], 'egress' => true,
                                   'host_ip' => '10.0.16.99' } }
      )
      expect(cfg['vm']).to include('memory_capacity_mb' => 30_000, 'disk_capacity_mb' => 90_000, 'accel' => 'kvm',
                                   'kernel_dir' => '/var/vcap/packages/other-kernel', 'cpus' => 2,
                                   'default_memory_mb' => 256, 'max_containers' => 100)
      expect(cfg['vm']['network']).to include('subnet' => '10.99.0.0/24', 'port_range' => [50_000, 50_999],
                                              'dns' => ['10.0.0.2'], 'dns_upstreams' => ['169.254.0.2:53'],
                                              'egress' => true, 'host_ip' => '10.0.16.99')
    end

    it 'advertises the IP address when advertise_domain is empty' do
      expect(config('diego' => { 'rep' => { 'advertise_domain' => '' } })).not_to have_key('advertise_domain')
    end

    {
      'a rootfs other than unik' => { 'diego' => { 'rep' => { 'preloaded_rootfses' => ['cflinuxfs4:/x'] } } },
      'the v1 loggregator API' => { 'loggregator' => { 'use_v2_api' => false } },
      'an unknown accelerator' => { 'unik' => { 'accel' => 'xen' } },
      'a capacity that is not a number' => { 'diego' => { 'executor' => { 'memory_capacity_mb' => 'lots' } } },
      'a reversed port range' => { 'unik' => { 'network' => { 'host_port_range' => [2000, 1000] } } },
      'an unknown network mode' => { 'unik' => { 'network' => { 'mode' => 'macvtap' } } },
    }.each do |what, props|
      it "refuses #{what}" do
        expect { config(props) }.to raise_error(RuntimeError)
      end
    end
  end

  describe 'TLS and loggregator files' do
    {
      'config/certs/tls.crt' => "CELL CERT\n", 'config/certs/tls.key' => "CELL KEY\n",
      'config/certs/tls_ca.crt' => "CELL CA\n", 'config/certs/loggregator/ca.crt' => "LOG CA\n",
      'config/certs/loggregator/client.crt' => "LOG CERT\n", 'config/certs/loggregator/client.key' => "LOG KEY\n"
    }.each do |file, content|
      it "renders #{file}" do
        expect(job.template(file).render(required_properties, spec: instance).strip).to eq(content.strip)
      end
    end

    it 'points the config only at files the job renders' do
      rendered = job.spec['templates'].values.map { |dst| "#{job_dir}/#{dst}" }
      cfg = config
      files = cfg.select { |k, _| k.end_with?('_file') }.values +
              cfg['loggregator'].select { |k, _| k.end_with?('_path') }.values
      expect(files.uniq).to all(satisfy { |f| rendered.include?(f) })
    end

    %w[tls.cert tls.key tls.ca_cert loggregator.cert].each do |prop|
      it "requires #{prop}" do
        group, key = prop.split('.')
        props = deep_merge(required_properties, {})
        props[group].delete(key)
        expect do
          %w[config/certs/tls.crt config/certs/tls.key config/certs/tls_ca.crt
             config/certs/loggregator/client.crt].each { |f| job.template(f).render(props, spec: instance) }
        end.to raise_error(Bosh::Template::UnknownProperty)
      end
    end
  end

  describe 'process privileges (devices and capabilities)' do
    let(:launcher) { job.template('bin/unik-cell').render(required_properties, spec: instance) }
    let(:pre_start) { job.template('bin/pre-start').render(required_properties, spec: instance) }

    it 'runs the cell as root with no_new_privs, so that unik-shim can jail each QEMU' do
      setpriv = launcher[/exec setpriv.*?unik-cell -config "\$resolved"/m].gsub(/\\\n\s*/, '')
      expect(setpriv).to include('--no-new-privs')
      expect(setpriv).not_to include('--reuid')
    end

    it 'gives the kvm group /dev/kvm and /dev/net/tun and nothing else' do
      expect(pre_start).to include('chgrp kvm /dev/kvm', 'chmod 0660 /dev/kvm', 'chgrp kvm /dev/net/tun',
                                   'chmod g+rw /dev/net/tun', 'net.ipv4.ip_forward=1')
      expect(pre_start.scan(%r{chgrp kvm (\S+)}).flatten).to contain_exactly('/dev/kvm', '/dev/net/tun')
    end

    it 'needs no tun device in user networking mode' do
      rendered = job.template('bin/pre-start').render(
        deep_merge(required_properties, 'unik' => { 'network' => { 'mode' => 'user' } }), spec: instance
      )
      expect(rendered).to include('chgrp kvm /dev/kvm')
      expect(rendered).not_to include('chgrp kvm /dev/net/tun')
    end

    it 'is run by monit through the ctl script (bpm cannot open devices: see jobs/README.md)' do
      monit = File.read(File.join(REPO_ROOT, 'jobs/unik-cell/monit'))
      expect(monit).to include('/var/vcap/jobs/unik-cell/bin/unik-cell_ctl start',
                               'with pidfile /var/vcap/sys/run/unik-cell/unik-cell.pid')
      expect(job.spec['templates'].values).not_to include('config/bpm.yml')
    end
  end

  describe 'bin/unik-cell --resolve-only (auto capacities)' do
    def resolve(props)
      Dir.mktmpdir do |dir|
        FileUtils.mkdir_p(File.join(dir, 'job/config'))
        File.write(File.join(dir, 'job/config/unik-cell.json'),
                   job.template('config/unik-cell.json').render(deep_merge(required_properties, props), spec: instance))
        File.write(File.join(dir, 'meminfo'), "MemTotal:       16777216 kB\nMemFree: 1 kB\n")
        script = File.join(dir, 'unik-cell')
        File.write(script, job.template('bin/unik-cell').render(deep_merge(required_properties, props), spec: instance))
        env = { 'UNIK_CELL_JOB_DIR' => File.join(dir, 'job'), 'UNIK_CELL_DATA_DIR' => dir,
                'UNIK_CELL_MEMINFO' => File.join(dir, 'meminfo') }
        out, status = Open3.capture2e(env, 'bash', script, '--resolve-only')
        expect(status).to be_success, out
        JSON.parse(File.read(File.join(dir, 'unik-cell.json')))
      end
    end

    it 'offers the memory less the reservation and the disk less the overhead' do
      vm = resolve('unik' => { 'reserved_host_memory_mb' => 2048 },
                   'diego' => { 'executor' => { 'auto_disk_capacity_overhead_mb' => 10 } })['vm']
      expect(vm['memory_capacity_mb']).to eq(16_384 - 2048)
      expect(vm['disk_capacity_mb']).to be_a(Integer).and be > 0
    end

    it 'keeps fixed capacities as they are' do
      vm = resolve('diego' => { 'executor' => { 'memory_capacity_mb' => 4096, 'disk_capacity_mb' => 8192 } })['vm']
      expect(vm).to include('memory_capacity_mb' => 4096, 'disk_capacity_mb' => 8192)
    end
  end

  describe 'bin/drain' do
    it 'evacuates through the admin address and waits at most the evacuation timeout' do
      drain = job.template('bin/drain').render(
        deep_merge(required_properties, 'diego' => { 'rep' => { 'listen_addr_admin' => '0.0.0.0:1800',
                                                                 'evacuation_timeout_in_seconds' => 120 } }),
        spec: instance
      )
      expect(drain).to include('admin=127.0.0.1:1800', 'SECONDS + 150', 'echo 0 >&3')
    end
  end
end

RSpec.describe 'the unik-buildpack job' do
  it 'ships the buildpack package and runs nothing' do
    job = release.job('unik-buildpack')
    expect(job.spec['packages']).to eq(['unik-buildpack'])
    expect(File.read(File.join(REPO_ROOT, 'jobs/unik-buildpack/monit')).strip).to be_empty
  end
end
