package main

import (
	"encoding/json"
	"strings"
)

// Entry is one log line as shipped on the destination logs.
type Entry struct {
	Level   string `json:"level"`
	Service string `json:"service"`
	Message string `json:"msg"`
}

// parseLine reads a JSON log line ({"level":"error","service":"api",
// "msg":"..."}). A line that is not JSON is kept whole as the message,
// with level and service "unknown", so nothing is lost on the way.
func parseLine(line string) Entry {
	line = strings.TrimRight(line, "\r\n")
	var e Entry
	if err := json.Unmarshal([]byte(line), &e); err != nil {
		return Entry{Level: "unknown", Service: "unknown", Message: line}
	}
	e.Level = strings.ToLower(e.Level)
	if e.Level == "" {
		e.Level = "unknown"
	}
	if e.Service == "" {
		e.Service = "unknown"
	}
	return e
}
