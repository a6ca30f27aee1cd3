package dev.baton.bench.serve;

import dev.baton.bench.serve.load.LoadRunner;
import dev.baton.bench.serve.metrics.PointSummary;

/** What a benchmark tells its user while it runs (a progress bar, or nothing in tests). */
public interface Progress {

    /** A load point starts; the returned listener hears about each of its requests (from many threads). */
    LoadRunner.Listener pointStarted(String target, String point, int requests);

    /** A load point ended. */
    void pointFinished(PointSummary summary);

    /** A one-line notice (warm-up failures and the like). */
    void notice(String line);

    /** Says nothing. */
    Progress NONE = new Progress() {
        @Override
        public LoadRunner.Listener pointStarted(String target, String point, int requests) {
            return LoadRunner.Listener.NONE;
        }

        @Override
        public void pointFinished(PointSummary summary) {}

        @Override
        public void notice(String line) {}
    };
}
