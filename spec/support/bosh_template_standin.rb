# frozen_string_literal: true

# A small stand-in for the test API of the bosh-template gem (Bosh::Template::Test: ReleaseDir,
# Job, Template#render(properties, spec:, consumes:), Link, LinkInstance, InstanceSpec), written
# against Ruby's standard ERB. The gem cannot be installed on these machines (Debian's ruby and
# ruby-rspec are all there is, and RubyGems is out of reach), so the template tests render
# through this file instead. It follows the director's rules that the templates rely on:
#
#   - the properties a template sees are the ones its job spec declares: each one takes the
#     manifest's value, else the spec's default, else nil;
#   - p('a.b') returns the value, p('a.b', default) the default when the value is nil, and raises
#     UnknownProperty when neither exists; p(['a', 'b']) returns the first that is set;
#   - if_p('a', 'b') { |a, b| ... } yields only when all are set, and .else { } runs otherwise;
#   - link('name') / if_link('name') read the links given as consumes:, spec is the instance.
#
# Templates are compiled as the director does: ERB.new(source, trim_mode: '-').
require 'erb'
require 'json'
require 'ostruct'
require 'yaml'

module Bosh
  module Template
    class UnknownProperty < StandardError; end
    class UnknownLink < StandardError; end

    module Test
      # The release directory: jobs/<name>/spec and jobs/<name>/templates/*.
      class ReleaseDir
        attr_reader :path

        def initialize(path)
          @path = File.expand_path(path)
        end

        def job(name)
          Job.new(self, name)
        end
      end

      # One job: its spec and its templates, looked up by their rendered path.
      class Job
        attr_reader :name, :spec

        def initialize(release, name)
          @release = release
          @name = name
          @dir = File.join(release.path, 'jobs', name)
          @spec = YAML.safe_load(File.read(File.join(@dir, 'spec')), aliases: true)
        end

        # template('config/unik-cell.json') finds the source whose destination that is.
        def template(rendered_path)
          source, = (@spec['templates'] || {}).find { |_src, dst| dst == rendered_path }
          raise ArgumentError, "job #{@name} renders no #{rendered_path}" unless source

          Template.new(self, File.join(@dir, 'templates', source))
        end

        def property_definitions
          @spec['properties'] || {}
        end
      end

      # One template of a job.
      class Template
        def initialize(job, path)
          @job = job
          @path = path
        end

        def render(manifest_properties = {}, spec: InstanceSpec.new, consumes: [])
          properties = Properties.resolve(@job.property_definitions, manifest_properties)
          context = Context.new(properties, spec.to_h, consumes)
          erb = ERB.new(File.read(@path), trim_mode: '-')
          erb.filename = @path
          erb.result(context.binding_for_erb)
        end
      end

      # The instance being rendered (the director's `spec`), with the usual fields filled.
      class InstanceSpec
        DEFAULTS = {
          'id' => 'f7c0a1b2-3c4d-4e5f-8a9b-0c1d2e3f4a5b',
          'index' => 0,
          'az' => 'z1',
          'name' => 'unik-cell',
          'deployment' => 'cf',
          'ip' => '10.0.16.5',
          'address' => 'f7c0a1b2-3c4d-4e5f-8a9b-0c1d2e3f4a5b.unik-cell.default.cf.bosh',
          'bootstrap' => true,
          'networks' => { 'default' => { 'ip' => '10.0.16.5', 'default' => %w[dns gateway] } },
          'job' => { 'name' => 'unik-cell' },
        }.freeze

        def initialize(fields = {})
          @fields = DEFAULTS.merge(fields.transform_keys(&:to_s))
        end

        def to_h
          @fields
        end
      end

      # A link given to render(consumes:).
      class Link
        attr_reader :name, :instances, :properties, :address

        def initialize(name:, instances: [], properties: {}, address: nil)
          @name = name
          @instances = instances
          @properties = properties
          @address = address
        end

        def p(prop, *default)
          value = Properties.dig(@properties, prop)
          return value unless value.nil?
          return default.first unless default.empty?

          raise UnknownProperty, "link #{@name} has no property #{prop}"
        end

        def if_p(*names)
          values = names.map { |n| Properties.dig(@properties, n) }
          yield(*values) unless values.any?(&:nil?)
        end
      end

      # An instance of a link.
      class LinkInstance
        attr_reader :name, :id, :index, :az, :address, :bootstrap

        def initialize(name: 'instance', id: 'id', index: 0, az: 'z1', address: '10.0.0.1', bootstrap: false)
          @name = name
          @id = id
          @index = index
          @az = az
          @address = address
          @bootstrap = bootstrap
        end
      end
    end

    # Property resolution: the job spec's declarations, manifest values over spec defaults.
    module Properties
      def self.resolve(definitions, manifest)
        resolved = {}
        definitions.each do |name, definition|
          value = dig(manifest, name)
          value = deep_copy((definition || {})['default']) if value.nil?
          store(resolved, name, value)
        end
        resolved
      end

      def self.dig(hash, dotted)
        dotted.to_s.split('.').reduce(hash) do |node, key|
          return nil unless node.is_a?(Hash) && node.key?(key)

          node[key]
        end
      end

      def self.store(hash, dotted, value)
        *parents, leaf = dotted.split('.')
        node = parents.reduce(hash) { |h, key| h[key] ||= {} }
        node[leaf] = value
      end

      def self.deep_copy(value)
        Marshal.load(Marshal.dump(value))
      end
    end

    # What `else` hangs on after if_p / if_link.
    class ActiveElseBlock
      def else
        yield
      end
    end

    class InactiveElseBlock
      def else; end
    end

    # The object a template is evaluated in.
    class Context
      UNSET = Object.new.freeze

      def initialize(properties, spec, links)
        @properties = properties
        @spec = to_open_struct(spec)
        @links = links.to_h { |l| [l.name, l] }
      end

      attr_reader :spec

      def p(names, default = UNSET)
        Array(names).each do |name|
          value = Properties.dig(@properties, name)
          return value unless value.nil?
        end
        return default unless default.equal?(UNSET)

        raise UnknownProperty, "Can't find property '#{Array(names).join("', '")}'"
      end

      def if_p(*names)
        values = names.map { |n| Properties.dig(@properties, n) }
        return ActiveElseBlock.new if values.any?(&:nil?)

        yield(*values)
        InactiveElseBlock.new
      end

      def link(name)
        @links.fetch(name) { raise UnknownLink, "Can't find link '#{name}'" }
      end

      def if_link(name)
        return ActiveElseBlock.new unless @links.key?(name)

        yield @links[name]
        InactiveElseBlock.new
      end

      def binding_for_erb
        binding
      end

      private

      def to_open_struct(value)
        case value
        when Hash then OpenStruct.new(value.transform_values { |v| to_open_struct(v) })
        when Array then value.map { |v| to_open_struct(v) }
        else value
        end
      end
    end
  end
end
