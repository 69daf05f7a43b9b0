package steps

import (
	"context"
	"fmt"
	"time"

	"github.com/cucumber/godog"

	"github.com/pushcert/pushcert/internal/client"
)

func clientEventSteps(sc *godog.ScenarioContext) {
	sc.Step(`^"([^"]+)" triggers "([^"]+)" on "([^"]+)" with data (\{.*\})$`, func(ctx context.Context, name, event, channel, data string) error {
		w := world(ctx)
		c, err := w.conn(name)
		if err != nil {
			return err
		}
		return c.Send(fmt.Sprintf(`{"event":%q,"channel":%q,"data":%s}`, event, w.Channel(channel), data))
	})
	sc.Step(`^"([^"]+)" triggers "([^"]+)" on "([^"]+)" with data that is not valid UTF-8$`, func(ctx context.Context, name, event, channel string) error {
		w := world(ctx)
		c, err := w.conn(name)
		if err != nil {
			return err
		}
		return c.Send(fmt.Sprintf(`{"event":%q,"channel":%q,"data":{"text":"%s"}}`, event, w.Channel(channel), notUTF8))
	})
	sc.Step(`^"([^"]+)" triggers "([^"]+)" on "([^"]+)" (\d+) times at once$`, func(ctx context.Context, name, event, channel string, n int) error {
		w := world(ctx)
		c, err := w.conn(name)
		if err != nil {
			return err
		}
		for i := 1; i <= n; i++ {
			if err := c.Send(fmt.Sprintf(`{"event":%q,"channel":%q,"data":{"n":%d}}`, event, w.Channel(channel), i)); err != nil {
				return err
			}
		}
		return nil
	})
	sc.Step(`^"([^"]+)" receives "([^"]+)" on "([^"]+)" from "([^"]+)" `+within+`$`, func(ctx context.Context, name, event, channel, user, secs string) error {
		w := world(ctx)
		ch, uid := w.Channel(channel), w.User(user)
		f, err := expectEvent(ctx, name, event, ch, secs)
		if err != nil {
			return err
		}
		if f.Msg.UserID != uid {
			return mismatch(fmt.Sprintf("%s with top-level user_id %q", event, uid), "%s", f.Raw)
		}
		return nil
	})
	sc.Step(`^"([^"]+)" receives (\d+) "([^"]+)" on "([^"]+)" `+within+`$`, func(ctx context.Context, name string, n int, event, channel, secs string) error {
		return takeN(ctx, name, n, channel, secs, func(f client.Frame) bool { return f.Msg.Event == event }, nil)
	})
	sc.Step(`^"([^"]+)" receives no more "([^"]+)" on "([^"]+)" `+within+`$`, func(ctx context.Context, name, event, channel, secs string) error {
		ch := world(ctx).Channel(channel)
		return refute(ctx, name, secs, "no further "+event, func(f client.Frame) bool { return f.Msg.Event == event && f.Msg.Channel == ch })
	})
	sc.Step(`^(\d+(?:\.\d+)?)s pass$`, func(ctx context.Context, secs string) error {
		select {
		case <-time.After(world(ctx).wait(seconds(secs))):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
}
