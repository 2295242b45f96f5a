package recipe

import (
	"encoding/json"
	"fmt"
	"strconv"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/executor"
)

// env layers the LRP's variables, the Run action's, and, for the buildpack launcher, what the
// launcher adds at start: HOME, DEPS_DIR and VCAP_APPLICATION's instance fields.
func env(container []executor.EnvironmentVariable, run *models.RunAction) []string {
	vars := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
	}
	for _, e := range container {
		set(e.Name, e.Value)
	}
	for _, e := range run.Env {
		set(e.Name, e.Value)
	}
	if run.Path == Launcher {
		set("HOME", "/home/vcap/app")
		set("DEPS_DIR", "/home/vcap/deps")
		if v, ok := vars["VCAP_APPLICATION"]; ok {
			set("VCAP_APPLICATION", launcherVCAPApplication(v, vars))
		}
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+vars[k])
	}
	return out
}

// launcherVCAPApplication adds host, instance_id, instance_index and port to VCAP_APPLICATION,
// as the buildpack launcher does; an unparsable value is left alone (so does the launcher).
func launcherVCAPApplication(v string, vars map[string]string) string {
	m := map[string]any{}
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		return v
	}
	m["host"] = "0.0.0.0"
	m["instance_id"] = vars["INSTANCE_GUID"]
	if p, err := strconv.Atoi(vars["PORT"]); err == nil {
		m["port"] = p
	}
	if i, err := strconv.Atoi(vars["INSTANCE_INDEX"]); err == nil {
		m["instance_index"] = i
	}
	b, err := json.Marshal(m)
	if err != nil {
		return v
	}
	return string(b)
}

// NetworkEnv is what Diego's executor adds once the instance's addresses are known:
// CF_INSTANCE_IP (the cell), CF_INSTANCE_INTERNAL_IP (the VM), CF_INSTANCE_PORT and
// CF_INSTANCE_ADDR (the first host port), CF_INSTANCE_PORTS (every mapping, JSON).
func NetworkEnv(externalIP, internalIP string, ports []executor.PortMapping) []string {
	out := []string{"CF_INSTANCE_IP=" + externalIP, "CF_INSTANCE_INTERNAL_IP=" + internalIP}
	if len(ports) == 0 {
		return append(out, "CF_INSTANCE_PORT=", "CF_INSTANCE_ADDR=", "CF_INSTANCE_PORTS=[]")
	}
	if ports[0].HostPort > 0 {
		out = append(out, fmt.Sprintf("CF_INSTANCE_PORT=%d", ports[0].HostPort),
			fmt.Sprintf("CF_INSTANCE_ADDR=%s:%d", externalIP, ports[0].HostPort))
	}
	type mapping struct {
		External uint16 `json:"external,omitempty"`
		Internal uint16 `json:"internal"`
	}
	ms := []mapping{}
	for _, p := range ports {
		ms = append(ms, mapping{External: p.HostPort, Internal: p.ContainerPort})
	}
	b, _ := json.Marshal(ms)
	return append(out, "CF_INSTANCE_PORTS="+string(b))
}
