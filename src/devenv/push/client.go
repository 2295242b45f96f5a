package push

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"
)

// GUIDFor derives a stable app guid from a name, so that scale and delete find the app.
func GUIDFor(name string) string {
	sum := sha256.Sum256([]byte("unik-app:" + name))
	h := hex.EncodeToString(sum[:16])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Find returns the desired LRPs (of domain cf-apps) of the app with this guid.
func Find(logger lager.Logger, c bbs.Client, appGUID string) ([]*models.DesiredLRP, error) {
	lrps, err := c.DesiredLRPs(logger, "", models.DesiredLRPFilter{Domain: "cf-apps"})
	if err != nil {
		return nil, err
	}
	var out []*models.DesiredLRP
	for _, l := range lrps {
		if l.LogGuid == appGUID {
			out = append(out, l)
		}
	}
	return out, nil
}

// Instance is one ActualLRP as a person wants to see it.
type Instance struct {
	Index    int32
	State    string
	Cell     string
	Address  string // host:port of the first port, through the cell
	Internal string // the VM's address
	Since    int64
	Crashes  int32
	Reason   string
}

// Instances lists the instances of a process guid, by index.
func Instances(logger lager.Logger, c bbs.Client, processGuid string) ([]Instance, error) {
	lrps, err := c.ActualLRPs(logger, "", models.ActualLRPFilter{ProcessGuid: processGuid})
	if err != nil {
		return nil, err
	}
	var out []Instance
	for _, l := range lrps {
		in := Instance{Index: l.Index, State: l.State, Cell: l.CellId, Internal: l.InstanceAddress, Since: l.Since,
			Crashes: l.CrashCount, Reason: l.PlacementError}
		if l.CrashReason != "" {
			in.Reason = l.CrashReason
		}
		if l.Presence != models.ActualLRP_Ordinary {
			in.State += "(" + l.Presence.String() + ")"
		}
		if len(l.Ports) > 0 {
			in.Address = fmt.Sprintf("%s:%d", l.Address, l.Ports[0].HostPort)
		}
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out, nil
}
