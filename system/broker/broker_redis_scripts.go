package broker

import (
	"context"

	"github.com/redis/go-redis/v9"

	"chatlab/system/broker/redisscript"
)

// The scripts run by EVALSHA, falling back to EVAL when Redis does not know
// them yet (after a restart): go-redis's Script does both. Their sources,
// keys and arguments live in redisscript, which the simulator runs too.
var (
	publishScript = redis.NewScript(redisscript.PublishSource)
	fetchScript   = redis.NewScript(redisscript.FetchSource)
)

// channelPrefix names the pub/sub channel of a room.
const channelPrefix = redisscript.ChannelPrefix

func channelOf(room string) string { return redisscript.Channel(room) }

// runScript sends one script call.
func runScript(ctx context.Context, client redis.Scripter, script *redis.Script, call redisscript.Call) *redis.Cmd {
	args := make([]any, len(call.Args))
	for i, arg := range call.Args {
		args[i] = arg
	}
	return script.Run(ctx, client, call.Keys, args...)
}
