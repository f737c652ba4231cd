package hargen

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestGenerateIsDeterministicValidAndSized(t *testing.T) {
	var a, b bytes.Buffer
	sa, err := Generate(&a, Config{Size: 2 << 20, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(&b, Config{Size: 2 << 20, Seed: 42}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("same seed, different bytes")
	}
	if sa.Bytes != int64(a.Len()) || sa.Bytes < 2<<20 || sa.Bytes > 2<<20+256<<10 {
		t.Errorf("size %d (stats %d) for 2 MiB asked", a.Len(), sa.Bytes)
	}
	var doc struct {
		Log struct {
			Entries []struct {
				ResourceType string `json:"_resourceType"`
				Initiator    struct {
					Type      string `json:"type"`
					RequestID string `json:"requestId"`
				} `json:"_initiator"`
				Response struct {
					Status int `json:"status"`
				} `json:"response"`
			} `json:"entries"`
		} `json:"log"`
	}
	if err := json.Unmarshal(a.Bytes(), &doc); err != nil {
		t.Fatalf("not valid JSON: %v", err)
	}
	pre := 0
	for _, e := range doc.Log.Entries {
		if e.ResourceType == "preflight" {
			pre++
			if e.Initiator.Type != "preflight" || e.Initiator.RequestID == "" {
				t.Errorf("preflight without its initiator: %+v", e.Initiator)
			}
		}
	}
	if len(doc.Log.Entries) != sa.Entries || pre != sa.Preflights || pre == 0 {
		t.Errorf("%d entries, %d preflights; stats %+v", len(doc.Log.Entries), pre, sa)
	}
	var c bytes.Buffer
	Generate(&c, Config{Size: 1 << 20, Seed: 43})
	if bytes.Equal(c.Bytes()[:4096], a.Bytes()[:4096]) {
		t.Error("different seeds, same bytes")
	}
}
