package dev.baton.router.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import dev.baton.planner.CapacityModel;
import dev.baton.planner.CapacityProfile;
import dev.baton.planner.Decision;
import dev.baton.planner.NodeConnector;
import dev.baton.planner.PlannerSettings;
import dev.baton.planner.Pool;
import dev.baton.router.cluster.NodeView;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The planner service between the router's view and a connector: what it observes, whom it drains, what it records. */
class PlannerServiceTest {

    static final Path PROFILE = Path.of("src/test/resources/planner/profile.json");

    /** Records what the service asks of it, as a connector would act on it. */
    static final class RecordingConnector implements NodeConnector {
        final List<String> calls = new CopyOnWriteArrayList<>();

        @Override
        public String name() {
            return "recording";
        }

        @Override
        public void start(Pool pool, int count) {
            calls.add("start " + pool.role() + " " + count);
        }

        @Override
        public void drain(Pool pool, String nodeId, Runnable viaCluster) {
            calls.add("drain " + nodeId);
            viaCluster.run();
        }

        @Override
        public void abandon(Pool pool, int count, Set<String> readyNodeIds) {
            calls.add("abandon " + pool.role() + " " + count);
        }
    }

    static NodeView node(String id, String role, int running, int waiting, int inFlight) {
        return new NodeView(id, "pekko://baton@127.0.0.1:1", role, true, false, running, waiting, 90, 100, 16, inFlight, 0, "",
                0);
    }

    static PlannerSettings settings(String extra, Path trace) {
        return PlannerSettings.from(ConfigFactory.parseString("""
                baton.planner {
                  mode = act
                  profile = "%s"
                  interval = 1s
                  objectives { ttft = 500ms, itl = 50ms }
                  pools { prefill { min = 1, max = 2 }, decode { min = 1, max = 2 } }
                  scale-up { window = 0s, cooldown = 0s }
                  scale-down { window = 0s, cooldown = 0s }
                  trace-file = "%s"
                  %s
                }
                """.formatted(PROFILE.toAbsolutePath(), trace == null ? "" : trace.toAbsolutePath(), extra))
                .withFallback(ConfigFactory.defaultReference()).resolve());
    }

    @Test
    void shouldDrainTheLeastBusyReadyNodeOfThePool() {
        List<NodeView> view = List.of(node("prefill-1", "prefill", 2, 1, 3), node("prefill-2", "prefill", 0, 0, 1),
                node("prefill-3", "prefill", 0, 0, 0), node("decode-1", "decode", 0, 0, 0));
        assertEquals(List.of("prefill-3"), PlannerService.leastBusy(view, Pool.PREFILL, 1).stream().map(NodeView::nodeId).toList());
        assertEquals(List.of("prefill-3", "prefill-2"),
                PlannerService.leastBusy(view, Pool.PREFILL, 2).stream().map(NodeView::nodeId).toList());
        List<NodeView> draining = List.of(node("prefill-1", "prefill", 5, 0, 0),
                new NodeView("prefill-2", "a", "prefill", true, true, 0, 0, 100, 100, 16, 0, 0, "", 0));
        assertEquals(List.of("prefill-1"), PlannerService.leastBusy(draining, Pool.PREFILL, 1).stream().map(NodeView::nodeId).toList(),
                "a draining node is already leaving");
    }

    @Test
    void shouldCountReadyStartingAndDrainingNodesPerPool() {
        List<NodeView> view = new ArrayList<>(List.of(node("p1", "prefill", 1, 2, 0), node("p2", "prefill", 3, 0, 0),
                new NodeView("p3", "a", "prefill", false, false, 0, 0, 0, 0, 0, 0, 0, "", 0),
                new NodeView("d1", "a", "decode", true, true, 4, 0, 50, 100, 16, 0, 0, "", 0),
                node("r", "router", 0, 0, 0)));
        var pools = PlannerService.pools(view);
        assertEquals(2, pools.get(Pool.PREFILL).ready());
        assertEquals(1, pools.get(Pool.PREFILL).starting());
        assertEquals(4, pools.get(Pool.PREFILL).running());
        assertEquals(2, pools.get(Pool.PREFILL).waiting());
        assertEquals(0, pools.get(Pool.DECODE).ready());
        assertEquals(1, pools.get(Pool.DECODE).draining());
        assertEquals(0.5, pools.get(Pool.DECODE).kvUsage(), 1e-9);
        assertFalse(pools.containsKey(Pool.WORKER));
    }

    @Test
    void shouldNotCountANodeWhoseEngineLoopIsStuckAsReady() {
        NodeView stuck = new NodeView("p2", "a", "prefill", true, false, 1, 0, 90, 100, 16, 0, 0, "", 0, 0, 0, 45_000);
        List<NodeView> view = List.of(node("p1", "prefill", 0, 0, 0), stuck);
        var pools = PlannerService.pools(view);
        assertEquals(1, pools.get(Pool.PREFILL).ready(), "a stuck node serves nothing");
        assertEquals(1, pools.get(Pool.PREFILL).starting(), "it counts as not ready (given up after the start timeout)");
        assertEquals(List.of("p1"), PlannerService.leastBusy(view, Pool.PREFILL, 2).stream().map(NodeView::nodeId).toList(),
                "nor is it drained as a scale-down candidate");
    }

    @Test
    void shouldTakeThePoolsQueueToComputeRatioOverTheInterval() {
        java.util.Map<String, long[]> times = new java.util.HashMap<>();
        NodeView a0 = new NodeView("p1", "a", "prefill", true, false, 0, 0, 90, 100, 16, 0, 0, "", 0, 1_000, 1_000);
        NodeView b0 = new NodeView("p2", "a", "prefill", true, false, 0, 0, 90, 100, 16, 0, 0, "", 0, 0, 0);
        PlannerService.pools(List.of(a0, b0), times);
        // Since then p1 waited 3 s and computed 1 s, p2 waited 1 s and computed 3 s: the pool waited as long as it computed.
        NodeView a1 = new NodeView("p1", "a", "prefill", true, false, 0, 0, 90, 100, 16, 0, 0, "", 0, 3_000_001_000L, 1_000_001_000L);
        NodeView b1 = new NodeView("p2", "a", "prefill", true, false, 0, 0, 90, 100, 16, 0, 0, "", 0, 1_000_000_000L, 3_000_000_000L);
        assertEquals(1.0, PlannerService.pools(List.of(a1, b1), times).get(Pool.PREFILL).queueComputeRatio(), 1e-9);
        assertTrue(Double.isNaN(PlannerService.pools(List.of(a1), times).get(Pool.PREFILL).queueComputeRatio()),
                "nothing computed since the last look: unknown, not zero");
        NodeView a2 = new NodeView("p1", "a", "prefill", true, false, 0, 0, 90, 100, 16, 0, 0, "", 0, 3_000_001_000L, 2_000_001_000L);
        assertEquals(0.0, PlannerService.pools(List.of(a2), times).get(Pool.PREFILL).queueComputeRatio(), 1e-9,
                "computed without waiting: a measured zero");
        assertFalse(times.containsKey("p2"), "a node gone from the view is forgotten");
    }

    @Test
    void shouldStartUnderLoadThenDrainTheIdleNodeAndRecordEveryTick(@TempDir Path dir) throws Exception {
        Path trace = dir.resolve("trace.jsonl");
        RecordingConnector connector = new RecordingConnector();
        List<String> drained = new CopyOnWriteArrayList<>();
        List<NodeView> view = new CopyOnWriteArrayList<>(List.of(node("prefill-1", "prefill", 0, 0, 0),
                node("decode-1", "decode", 0, 0, 0)));
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (PlannerService service = new PlannerService(settings("", trace), new CapacityModel(CapacityProfile.read(PROFILE)),
                () -> List.copyOf(view), (id, reason) -> drained.add(id), connector, registry)) {
            assertEquals("null", service.view().get("last").toString(), "no record before the first tick");
            // 40 requests of 512 prompt tokens in a short interval: far more than one prefill node computes within 500 ms.
            long t0 = System.nanoTime();
            for (int i = 0; i < 40; i++) {
                service.observer().arrived();
                service.observer().firstToken(300_000_000L);
                service.observer().finished(t0, 512, 0, 8, 300_000_000L, 20_000_000L);
            }
            Decision up = service.tick();
            assertEquals(2, up.pools().get(Pool.PREFILL).target(), up.reasons().toString());
            assertTrue(connector.calls.contains("start prefill 1"), connector.calls.toString());
            JsonNode last = service.view().get("last");
            assertEquals(40, last.get("observed").get("arrivals").asInt());
            assertEquals(512, last.get("observed").get("promptTokens").get("mean").asDouble(), 1e-9);
            assertTrue(last.get("pools").get("prefill").get("reason").asText().startsWith("scale up 1 -> 2"),
                    last.get("pools").get("prefill").toString());
            assertTrue(registry.scrape().contains("baton_planner_nodes{pool=\"prefill\",state=\"target\"} 2.0"), registry.scrape());

            // The new node joins; then traffic stops: the idler of the two is drained, through the cluster.
            view.add(node("prefill-p1", "prefill", 0, 0, 0));
            view.set(0, node("prefill-1", "prefill", 1, 0, 1));
            Decision down = null;
            for (int i = 0; i < 10 && (down == null || down.pools().get(Pool.PREFILL).drain() == 0); i++) {
                down = service.tick();
            }
            assertNotNull(down);
            assertEquals(1, down.pools().get(Pool.PREFILL).drain(), down.reasons().toString());
            assertEquals(List.of("prefill-p1"), drained);
            assertTrue(connector.calls.contains("drain prefill-p1"), connector.calls.toString());
        }
        List<String> lines = Files.readAllLines(trace);
        assertEquals(40, lines.size(), "every finished request is in the trace");
        assertTrue(lines.get(0).contains("\"prompt\":512") && lines.get(0).contains("\"ttftMs\":300.00"), lines.get(0));
    }

    @Test
    void shouldAdviseWithoutActing() {
        RecordingConnector connector = new RecordingConnector();
        PlannerSettings advise = settings("mode = advise", null);
        try (PlannerService service = new PlannerService(advise, new CapacityModel(CapacityProfile.read(PROFILE)),
                () -> List.of(node("prefill-1", "prefill", 0, 0, 0), node("decode-1", "decode", 0, 0, 0)), (id, r) -> true,
                connector, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT))) {
            for (int i = 0; i < 40; i++) {
                service.observer().arrived();
                service.observer().finished(System.nanoTime(), 512, 0, 8, 300_000_000L, 20_000_000L);
            }
            Decision d = service.tick();
            assertEquals(1, d.pools().get(Pool.PREFILL).start(), "the decision is made");
            assertTrue(connector.calls.isEmpty(), "but nothing is started in advise mode: " + connector.calls);
            assertEquals("advise", service.view().get("mode").asText());
        }
    }
}
