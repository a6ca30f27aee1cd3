package dev.baton.bench.serve.report;

import dev.baton.bench.serve.Progress;
import dev.baton.bench.serve.load.LoadRunner;
import dev.baton.bench.serve.metrics.PointSummary;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A live progress line on a terminal ({@code \r}-rewritten, at most five times a second): the point, a bar,
 * requests done of the budget, failures and elapsed time; then one line per finished point.
 *
 * <p>Thread-safe: request listeners are called from many threads; drawing is serialized.
 */
public final class ProgressBar implements Progress {

    private static final int WIDTH = 30;
    private static final long REDRAW_NS = 200_000_000L;

    private final PrintWriter out;
    private final boolean live;

    /**
     * @param live rewrite a progress line while a point runs (for a terminal); false prints only the
     *     finished points (for logs)
     */
    public ProgressBar(PrintWriter out, boolean live) {
        this.out = out;
        this.live = live;
    }

    @Override
    public LoadRunner.Listener pointStarted(String target, String point, int requests) {
        long start = System.nanoTime();
        AtomicInteger done = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        long[] lastDraw = {0};
        if (live) {
            draw(target, point, 0, 0, requests, start);
        }
        return r -> {
            int d = done.incrementAndGet();
            int f = r.ok() ? failed.get() : failed.incrementAndGet();
            if (!live) {
                return;
            }
            synchronized (this) {
                long now = System.nanoTime();
                if (now - lastDraw[0] >= REDRAW_NS || d == requests) {
                    lastDraw[0] = now;
                    draw(target, point, d, f, requests, start);
                }
            }
        };
    }

    private synchronized void draw(String target, String point, int done, int failed, int total, long startNs) {
        int filled = total == 0 ? WIDTH : (int) Math.min(WIDTH, (long) done * WIDTH / total);
        out.print(String.format(Locale.ROOT, "\r%s %s [%s%s] %d/%d%s %.1fs ", target, point, "#".repeat(filled),
                ".".repeat(WIDTH - filled), done, total, failed == 0 ? "" : " (" + failed + " failed)",
                (System.nanoTime() - startNs) / 1e9));
        out.flush();
    }

    @Override
    public synchronized void pointFinished(PointSummary s) {
        if (live) {
            out.print("\r\033[K");
        }
        out.println(String.format(Locale.ROOT, "%s %s: %d ok, %d failed in %.1f s; %.2f req/s, %.1f output tok/s%s; "
                        + "TTFT p50 %s ms, TPOT p50 %s ms", s.target(), s.point(), s.completed(), s.failed(), s.durationS(),
                s.requestsPerSecond(), s.outputTokensPerSecond(),
                Double.isNaN(s.goodput()) ? "" : String.format(Locale.ROOT, ", goodput %.2f req/s", s.goodput()),
                ConsoleTable.f(s.ttftMs().median(), 1), ConsoleTable.f(s.tpotMs().median(), 1)));
        if (s.shortOutputs() > 0) {
            out.println("  " + s.shortOutputs() + " of " + s.completed() + " answers were shorter than max_tokens: "
                    + "the server stopped at EOS (ignore_eos not honoured?), so output lengths differ from the workload's");
        }
        out.flush();
    }

    @Override
    public synchronized void notice(String line) {
        if (live) {
            out.print("\r\033[K");
        }
        out.println(line);
        out.flush();
    }
}
