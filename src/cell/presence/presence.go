package presence

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/clock"
	"code.cloudfoundry.org/lager/v3"
	"code.cloudfoundry.org/locket/lock"
	locketmodels "code.cloudfoundry.org/locket/models"
	"github.com/tedsuo/ifrit"
)

// Cell describes the cell as the BBS and the auctioneer see it.
type Cell struct {
	ID, RepAddress, RepURL, Zone      string
	MemoryMB, DiskMB, Containers      int
	RootFSes, PlacementTags, Optional []string
}

// Payload is the presence value: the JSON of a models.CellPresence.
func (c Cell) Payload() (string, error) {
	p := models.NewCellPresence(c.ID, c.RepAddress, c.RepURL, c.Zone,
		models.NewCellCapacity(int32(c.MemoryMB), int32(c.DiskMB), int32(c.Containers)),
		nil, c.RootFSes, nil, c.PlacementTags, c.Optional)
	if err := p.Validate(); err != nil {
		return "", fmt.Errorf("cell presence: %w", err)
	}
	b, err := json.Marshal(p)
	return string(b), err
}

// Runner holds the presence lock until signalled (then releases it).
func Runner(logger lager.Logger, client locketmodels.LocketClient, c Cell, owner string, ttl, retry time.Duration) (ifrit.Runner, error) {
	payload, err := c.Payload()
	if err != nil {
		return nil, err
	}
	res := &locketmodels.Resource{Key: c.ID, Owner: owner, Value: payload,
		TypeCode: locketmodels.PRESENCE, Type: locketmodels.PresenceType}
	return lock.NewPresenceRunner(logger, client, res, int64(ttl/time.Second), clock.NewClock(), retry), nil
}

// Owner returns the lock owner id kept at path, creating it the first time.
func Owner(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("presence owner: %w", err)
	}
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	id := hex.EncodeToString(raw)
	id = id[:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:]
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("presence owner: %w", err)
	}
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("presence owner: %w", err)
	}
	return id, nil
}
