package main

import (
	"encoding/json"
	"net/http"
	"sync"
)

// Key is what entries are counted by.
type Key struct {
	Level   string `json:"level"`
	Service string `json:"service"`
}

// Counts is the sink: entries counted per level and service, in memory,
// served as JSON. In production this would be a search index; the shape of
// the pipeline is the same.
type Counts struct {
	// mu guards n.
	mu sync.Mutex
	n  map[Key]int64
}

func newCounts() *Counts { return &Counts{n: make(map[Key]int64)} }

// Add counts one entry.
func (c *Counts) Add(e Entry) {
	c.mu.Lock()
	c.n[Key{Level: e.Level, Service: e.Service}]++
	c.mu.Unlock()
}

// Snapshot returns a copy of the counts.
func (c *Counts) Snapshot() map[Key]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[Key]int64, len(c.n))
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

// Total is the number of entries counted.
func (c *Counts) Total() int64 {
	var t int64
	for _, v := range c.Snapshot() {
		t += v
	}
	return t
}

// countRow is one row of GET /counts.
type countRow struct {
	Key
	Count int64 `json:"count"`
}

// ServeHTTP answers GET /counts with [{"level":..,"service":..,"count":..}].
func (c *Counts) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "logs: GET only", http.StatusMethodNotAllowed)
		return
	}
	rows := []countRow{}
	for k, v := range c.Snapshot() {
		rows = append(rows, countRow{Key: k, Count: v})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(rows)
}
