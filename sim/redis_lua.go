package sim

import (
	"fmt"
	"strings"

	luajson "github.com/alicebob/miniredis/v2/gopher-json"
	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// redisLua runs scripts for one simulated Redis, as Redis's scripting
// engine does: KEYS and ARGV as globals, redis.call and redis.pcall
// reaching the keyspace, cjson, replies converted by Redis's rules. It
// uses gopher-lua, like miniredis, but keeps one interpreter for every
// call and compiles each script once: a simulated run evaluates thousands
// of scripts, and a fresh interpreter per call would dominate its time.
//
// Only the base, table and string libraries are open, less the functions
// that touch files or stdout: no clock, no randomness and no I/O can reach
// a script, so it is as deterministic as the rest of the simulation.
type redisLua struct {
	redis  *Redis
	state  *lua.LState
	protos map[string]*lua.FunctionProto // compiled scripts, by source
	// statuses are the status replies' tables ({ok = "OK"}), one per
	// text, shared by every call: the broker's scripts only test them, and
	// a table per reply was a large part of a script's cost.
	statuses map[Status]*lua.LTable
	// keys and argv are the KEYS and ARGV tables, refilled for each call.
	keys, argv *lua.LTable
}

func newRedisLua(r *Redis) *redisLua {
	state := lua.NewState(lua.Options{SkipOpenLibs: true})
	for _, library := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString},
	} {
		state.Push(state.NewFunction(library.open))
		state.Push(lua.LString(library.name))
		state.Call(1, 0)
	}
	for _, unsafe := range []string{"dofile", "loadfile", "load", "loadstring", "print", "module", "require"} {
		state.SetGlobal(unsafe, lua.LNil)
	}
	state.Push(state.NewFunction(luajson.Loader))
	state.Call(0, 1)
	state.SetGlobal("cjson", state.Get(-1))
	state.Pop(1)
	l := &redisLua{redis: r, state: state, protos: map[string]*lua.FunctionProto{}, statuses: map[Status]*lua.LTable{},
		keys: state.NewTable(), argv: state.NewTable()}
	state.SetGlobal("KEYS", l.keys)
	state.SetGlobal("ARGV", l.argv)
	module := state.NewTable()
	module.RawSetString("call", state.NewFunction(func(L *lua.LState) int { return l.call(L, false) }))
	module.RawSetString("pcall", state.NewFunction(func(L *lua.LState) int { return l.call(L, true) }))
	module.RawSetString("status_reply", state.NewFunction(func(L *lua.LState) int {
		L.Push(statusTable(L, L.CheckString(1)))
		return 1
	}))
	module.RawSetString("error_reply", state.NewFunction(func(L *lua.LState) int {
		L.Push(errorTable(L, L.CheckString(1)))
		return 1
	}))
	state.SetGlobal("redis", module)
	return l
}

func (l *redisLua) compile(source string) (*lua.FunctionProto, error) {
	if proto := l.protos[source]; proto != nil {
		return proto, nil
	}
	chunk, err := parse.Parse(strings.NewReader(source), "user_script")
	if err != nil {
		return nil, RedisError("ERR Error compiling script: " + err.Error())
	}
	proto, err := lua.Compile(chunk, "user_script")
	if err != nil {
		return nil, RedisError("ERR Error compiling script: " + err.Error())
	}
	l.protos[source] = proto
	return proto, nil
}

// run evaluates one script and converts its result as Redis does.
func (l *redisLua) run(source string, keys, args []string) (any, error) {
	proto, err := l.compile(source)
	if err != nil {
		return nil, err
	}
	L := l.state
	fill(l.keys, keys)
	fill(l.argv, args)
	// Set again in case a script rebound them.
	L.SetGlobal("KEYS", l.keys)
	L.SetGlobal("ARGV", l.argv)
	L.Push(L.NewFunctionFromProto(proto))
	if err := L.PCall(0, 1, nil); err != nil {
		L.SetTop(0)
		return nil, RedisError(fmt.Sprintf("ERR Error running script: %v", err))
	}
	result := L.Get(-1)
	L.SetTop(0)
	return fromLua(L, result)
}

// fill makes table the array of values, and nothing else: what the last
// call left beyond them is cleared.
func fill(table *lua.LTable, values []string) {
	for i, v := range values {
		table.RawSetInt(i+1, lua.LString(v))
	}
	for i := table.Len(); i > len(values); i-- {
		table.RawSetInt(i, lua.LNil)
	}
}

func statusTable(L *lua.LState, text string) *lua.LTable {
	table := L.CreateTable(0, 1)
	table.RawSetString("ok", lua.LString(text))
	return table
}

func errorTable(L *lua.LState, text string) *lua.LTable {
	table := L.CreateTable(0, 1)
	table.RawSetString("err", lua.LString(text))
	return table
}

// call is redis.call (raising errors) and redis.pcall (returning them as
// an error table).
func (l *redisLua) call(L *lua.LState, protected bool) int {
	top := L.GetTop()
	if top == 0 {
		L.RaiseError("Please specify at least one argument for this redis lib call")
		return 0
	}
	args := make([]string, top)
	for i := 1; i <= top; i++ {
		switch value := L.Get(i).(type) {
		case lua.LString:
			args[i-1] = string(value)
		case lua.LNumber:
			args[i-1] = value.String()
		default:
			L.RaiseError("Lua redis lib command arguments must be strings or integers")
			return 0
		}
	}
	var result any
	var err error
	if args[0] == "XRANGE" {
		// The fetch script's hot path: entries straight into Lua tables,
		// without a reply in between.
		var entries []streamEntry
		if entries, err = l.redis.xrange(args[1:]); err == nil {
			L.Push(entriesTable(L, entries))
			return 1
		}
	} else {
		result, err = l.redis.Do(args...)
	}
	if err != nil {
		if protected {
			L.Push(errorTable(L, err.Error()))
			return 1
		}
		L.RaiseError("%s", err.Error())
		return 0
	}
	if status, ok := result.(Status); ok {
		table := l.statuses[status]
		if table == nil {
			table = statusTable(L, string(status))
			l.statuses[status] = table
		}
		L.Push(table)
		return 1
	}
	L.Push(toLua(L, result))
	return 1
}

// entriesTable is XRANGE's reply in Lua: {{id, {field, value, ...}}, ...}.
func entriesTable(L *lua.LState, entries []streamEntry) *lua.LTable {
	table := L.CreateTable(len(entries), 0)
	for _, e := range entries {
		fields := L.CreateTable(len(e.fields), 0)
		for _, f := range e.fields {
			fields.Append(lua.LString(f))
		}
		entry := L.CreateTable(2, 0)
		entry.Append(lua.LString(e.idText))
		entry.Append(fields)
		table.Append(entry)
	}
	return table
}

// toLua converts a reply into Lua, by Redis's rules: an integer becomes a
// number, a nil reply false, a status reply a table {ok = text}.
func toLua(L *lua.LState, value any) lua.LValue {
	switch v := value.(type) {
	case nil:
		return lua.LFalse
	case int64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case Status:
		return statusTable(L, string(v))
	case []any:
		table := L.CreateTable(len(v), 0)
		for _, item := range v {
			table.Append(toLua(L, item))
		}
		return table
	}
	panic(fmt.Sprintf("sim: redis reply of type %T has no Lua form", value))
}

// fromLua converts a script's result into a reply, by Redis's rules: a
// number is truncated to an integer, true is 1, false and nil are a nil
// reply, a table is an array up to its first nil, unless it holds err or
// ok.
func fromLua(L *lua.LState, value lua.LValue) (any, error) {
	switch v := value.(type) {
	case lua.LBool:
		if v {
			return int64(1), nil
		}
		return nil, nil
	case lua.LNumber:
		return int64(v), nil
	case lua.LString:
		return string(v), nil
	case *lua.LTable:
		if text := v.RawGetString("err"); text != lua.LNil {
			return nil, RedisError(text.String())
		}
		if text := v.RawGetString("ok"); text != lua.LNil {
			return Status(text.String()), nil
		}
		result := []any{}
		for i := 1; ; i++ {
			item := v.RawGetInt(i)
			if item == lua.LNil {
				break
			}
			converted, err := fromLua(L, item)
			if err != nil {
				// An error inside an array stays an element, as in Redis.
				converted = err
			}
			result = append(result, converted)
		}
		return result, nil
	}
	return nil, nil
}
