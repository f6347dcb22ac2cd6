/** The RTR timers of RFC 8210 §6: ranges, defaults, clamping and the checks replay applies. */
import { assertEquals as eq } from "../helpers/assert.ts";
import {
  clampTimers,
  DEFAULT_TIMERS,
  TIMER_LIMITS,
  timerProblems,
  timerRange,
} from "../../lib/model/mod.ts";

Deno.test("timers: RFC 8210 §6 defaults and ranges", () => {
  eq({ ...DEFAULT_TIMERS }, { refresh: 3600, retry: 600, expire: 7200 });
  eq(TIMER_LIMITS.refresh, [1, 86400]);
  eq(TIMER_LIMITS.retry, [1, 7200]);
  eq(TIMER_LIMITS.expire, [600, 172800]);
  eq([timerRange("refresh"), timerRange("retry"), timerRange("expire")], [
    "1-86400",
    "1-7200",
    "600-172800",
  ]);
  eq(Object.isFrozen(DEFAULT_TIMERS), true);
});

Deno.test("clampTimers() keeps values in range and clamps the others with one warning each", () => {
  eq(clampTimers({ refresh: 1, retry: 7200, expire: 600 }), {
    timers: { refresh: 1, retry: 7200, expire: 600 },
    warnings: [],
  });
  eq(clampTimers({ refresh: 0, retry: 9000, expire: 10 }), {
    timers: { refresh: 1, retry: 7200, expire: 600 },
    warnings: [
      "refresh interval 0 s is outside 1..86400, using 1 s",
      "retry interval 9000 s is outside 1..7200, using 7200 s",
      "expire interval 10 s is outside 600..172800, using 600 s",
    ],
  });
  eq(clampTimers({ refresh: 86401, retry: 1, expire: 172801 }).timers, {
    refresh: 86400,
    retry: 1,
    expire: 172800,
  });
});

Deno.test("timerProblems() names each range breach and an Expire not above Refresh and Retry", () => {
  eq(timerProblems({ ...DEFAULT_TIMERS }), []);
  eq(timerProblems({ refresh: 0, retry: 600, expire: 500 }), [
    "refresh 0 outside 1..86400",
    "expire 500 outside 600..172800",
    "expire 500 not above retry 600",
  ]);
  eq(timerProblems({ refresh: 3600, retry: 60, expire: 3600 }), [
    "expire 3600 not above refresh 3600",
  ]);
});
