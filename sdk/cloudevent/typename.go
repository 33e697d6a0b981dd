package cloudevent

import (
	"reflect"
	"strings"
)

// TypeName derives a CloudEvent type from a Go type: "<package>.<Name>" for
// a named type ("orders.Order"), the element's name for pointers, and
// "millstream.<kind>" for unnamed types ("millstream.string" for string,
// "millstream.bytes" for []byte).
func TypeName(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "millstream.nil"
	}
	if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 && t.Name() == "" {
		return "millstream.bytes"
	}
	if t.Name() == "" || t.PkgPath() == "" {
		return "millstream." + t.Kind().String()
	}
	pkg := t.PkgPath()
	if i := strings.LastIndexByte(pkg, '/'); i >= 0 {
		pkg = pkg[i+1:]
	}
	name := t.Name()
	if i := strings.IndexByte(name, '['); i >= 0 { // generic instantiation
		name = name[:i]
	}
	return pkg + "." + name
}
