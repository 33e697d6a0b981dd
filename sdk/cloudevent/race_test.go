//go:build race

package cloudevent_test

const raceEnabled = true
