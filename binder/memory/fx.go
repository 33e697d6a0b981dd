package memory

import (
	"fmt"
	"strconv"

	"go.uber.org/fx"

	"github.com/millstream/millstream/sdk/streamfx"
)

// Name is the name the memory binder is registered under by [Module].
const Name = "memory"

// Module registers an in-memory binder named "memory" with a
// streamfx application. Its one setting is binders.memory.retention
// (messages kept per partition, default [DefaultRetention]).
//
//	fx.New(streamfx.Module, memory.Module, streamfx.Function("uppercase", uppercase))
var Module = fx.Module("millstream.binder.memory", fx.Provide(newModuleBinder))

// newModuleBinder takes the loaded configuration rather than the
// stream.Config so that its errors say where the bad value was set.
func newModuleBinder(loaded *streamfx.Loaded) (streamfx.BinderOut, error) {
	var opts []Option
	if v, ok := loaded.Config.Binders[Name]["retention"]; ok {
		n, err := intSetting(v)
		if err != nil || n < 1 {
			return streamfx.BinderOut{}, loaded.Annotate(fmt.Errorf("memory: millstream.binders.memory.retention: %v is not a positive whole number; write e.g. 100000", v))
		}
		opts = append(opts, WithRetention(n))
	}
	return streamfx.BinderOut{Binder: streamfx.NamedBinder{Name: Name, Binder: New(opts...), Keys: []string{"retention"}}}, nil
}

// intSetting reads a number as YAML (int) or the environment (string)
// gives it.
func intSetting(v any) (int, error) {
	switch v := v.(type) {
	case int:
		return v, nil
	case string:
		return strconv.Atoi(v)
	default:
		return 0, fmt.Errorf("%T is not a number", v)
	}
}
