package dev.baton.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.baton.planner.Mode;
import dev.baton.planner.PlannerSettings;
import dev.baton.planner.Pool;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Helm chart {@code deploy/k8s/baton} through real Helm (helm-java bundles Helm's library): {@code helm lint}
 * and {@code helm template} with the default values, with {@code values-3p5d.yaml}, and with autoscaling and the
 * ServiceMonitor on; the rendered manifests read back as YAML and checked against what the pods run: probes on
 * ports the containers open, RBAC that Kubernetes API discovery needs, replicas from the values, every key of
 * the ConfigMap's configuration known to a reference.conf, a grace period longer than the drain, an
 * autoscaler and a disruption budget per pool. And the Grafana dashboard and the prometheus-adapter rule
 * name only metrics the code exports.
 */
@Timeout(120)
class HelmChartTest {

    static final Path CHART = NodeProcess.root().resolve("deploy/k8s/baton");
    static final Path VALUES_3P5D = CHART.resolve("values-3p5d.yaml");
    static final Path ADAPTER_VALUES = NodeProcess.root().resolve("deploy/k8s/prometheus-adapter/values.yaml");
    static final Path DASHBOARD = NodeProcess.root().resolve("deploy/k8s/grafana/baton.json");
    static final YAMLMapper YAML = new YAMLMapper();
    static final List<String> POOLS = List.of("prefill", "decode", "worker");

    /** The rendered manifests of one {@code helm template} run, by kind and name. */
    record Manifests(List<JsonNode> all) {

        List<JsonNode> kind(String kind) {
            return all.stream().filter(m -> kind.equals(m.path("kind").asText())).toList();
        }

        JsonNode get(String kind, String name) {
            return kind(kind).stream().filter(m -> name.equals(m.at("/metadata/name").asText())).findFirst()
                    .orElseThrow(() -> new AssertionError("no " + kind + " " + name + " in " + names()));
        }

        boolean has(String kind, String name) {
            return kind(kind).stream().anyMatch(m -> name.equals(m.at("/metadata/name").asText()));
        }

        List<String> names() {
            return all.stream().map(m -> m.path("kind").asText() + "/" + m.at("/metadata/name").asText()).toList();
        }
    }

    static Manifests template(Path valuesFile, Map<String, Object> sets) throws IOException {
        var command = new Helm(CHART).template().withName("baton").withNamespace("llm");
        if (valuesFile != null) {
            command = command.withValuesFile(valuesFile);
        }
        for (Map.Entry<String, Object> e : sets.entrySet()) {
            command = command.set(e.getKey(), e.getValue());
        }
        String rendered = command.call();
        List<JsonNode> docs = new ArrayList<>();
        try (var parser = new YAMLFactory().createParser(rendered)) {
            Iterator<JsonNode> it = YAML.readValues(parser, JsonNode.class);
            while (it.hasNext()) {
                JsonNode doc = it.next();
                if (doc != null && !doc.isNull() && !doc.isMissingNode()) {
                    docs.add(doc);
                }
            }
        }
        assertFalse(docs.isEmpty(), "helm template rendered nothing");
        return new Manifests(docs);
    }

    static Manifests defaults() throws IOException {
        return template(null, Map.of());
    }

    static Manifests threePrefillFiveDecode() throws IOException {
        return template(VALUES_3P5D, Map.of());
    }

    static Manifests autoscaled() throws IOException {
        return template(null, Map.of("prefill.autoscaling.enabled", "true", "decode.autoscaling.enabled", "true",
                "worker.enabled", "true", "worker.autoscaling.enabled", "true", "serviceMonitor.enabled", "true"));
    }

    // ---------------------------------------------------------------------------------------------- lint

    @Test
    void shouldLintCleanWithTheDefaultValues() {
        LintResult lint = new Helm(CHART).lint().strict().call();
        assertFalse(lint.isFailed(), String.join("\n", lint.getMessages()));
    }

    @Test
    void shouldLintCleanWithThe3p5dValues(@TempDir Path dir) throws IOException {
        // helm-java's lint takes no values file: lint a copy of the chart whose values.yaml has them merged in
        Path copy = dir.resolve("baton");
        try (Stream<Path> files = Files.walk(CHART)) {
            for (Path p : files.toList()) {
                Path target = copy.resolve(CHART.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
        ObjectNode merged = (ObjectNode) YAML.readTree(CHART.resolve("values.yaml").toFile());
        merge(merged, (ObjectNode) YAML.readTree(VALUES_3P5D.toFile()));
        YAML.writeValue(copy.resolve("values.yaml").toFile(), merged);
        LintResult lint = new Helm(copy).lint().strict().call();
        assertFalse(lint.isFailed(), String.join("\n", lint.getMessages()));
    }

    static void merge(ObjectNode into, ObjectNode from) {
        from.properties().forEach(e -> {
            JsonNode existing = into.get(e.getKey());
            if (existing instanceof ObjectNode o && e.getValue() instanceof ObjectNode f) {
                merge(o, f);
            } else {
                into.set(e.getKey(), e.getValue());
            }
        });
    }

    // ------------------------------------------------------------------------------------------ replicas

    @Test
    void shouldRunTheReplicasTheValuesAskFor() throws IOException {
        Manifests d = defaults();
        assertEquals(1, d.get("Deployment", "baton-router").at("/spec/replicas").asInt());
        assertEquals(1, d.get("Deployment", "baton-prefill").at("/spec/replicas").asInt());
        assertEquals(1, d.get("Deployment", "baton-decode").at("/spec/replicas").asInt());
        assertFalse(d.has("Deployment", "baton-worker"), "worker pool off by default");

        Manifests p3d5 = threePrefillFiveDecode();
        assertEquals(1, p3d5.get("Deployment", "baton-router").at("/spec/replicas").asInt());
        assertEquals(3, p3d5.get("Deployment", "baton-prefill").at("/spec/replicas").asInt());
        assertEquals(5, p3d5.get("Deployment", "baton-decode").at("/spec/replicas").asInt());
        assertEquals(9, clusterConf(p3d5, "cluster.conf")
                .getInt("pekko.management.cluster.bootstrap.contact-point-discovery.required-contact-point-nr"));
        JsonNode prefillPod = p3d5.get("Deployment", "baton-prefill").at("/spec/template/spec");
        assertEquals("prefill", prefillPod.at("/nodeSelector/baton.dev~1pool").asText());
        assertEquals("prefill", prefillPod.at("/tolerations/0/value").asText());
        assertTrue(prefillPod.at("/affinity/podAntiAffinity").isObject());
        assertEquals("24Gi", prefillPod.at("/containers/0/resources/limits/memory").asText());

        // an autoscaled pool leaves its replica count to the autoscaler
        Manifests a = autoscaled();
        for (String pool : POOLS) {
            assertTrue(a.get("Deployment", "baton-" + pool).at("/spec/replicas").isMissingNode(), pool);
        }
        assertEquals(1, a.get("Deployment", "baton-router").at("/spec/replicas").asInt());
    }

    // ------------------------------------------------------------------------------------------- probes

    @Test
    void shouldProbePortsTheContainersOpen() throws IOException {
        for (Manifests m : List.of(defaults(), threePrefillFiveDecode(), autoscaled())) {
            int managementPort = clusterConf(m, "cluster.conf").getInt("baton.management.port");
            for (JsonNode deployment : m.kind("Deployment")) {
                String name = deployment.at("/metadata/name").asText();
                JsonNode container = deployment.at("/spec/template/spec/containers/0");
                Map<String, Integer> ports = new HashMap<>();
                container.path("ports").forEach(p -> ports.put(p.path("name").asText(), p.path("containerPort").asInt()));
                for (String probe : List.of("startupProbe", "livenessProbe", "readinessProbe")) {
                    JsonNode http = container.path(probe).path("httpGet");
                    assertFalse(http.isMissingNode(), name + " has no " + probe);
                    JsonNode port = http.path("port");
                    int number = port.isInt() ? port.asInt() : ports.getOrDefault(port.asText(), -1);
                    assertTrue(ports.containsValue(number), name + " " + probe + " probes port " + port
                            + ", which the container does not open: " + ports);
                    // Pekko Management's endpoint, which the node starts on --management-port
                    assertEquals(managementPort, number, name + " " + probe);
                    assertEquals(probe.equals("readinessProbe") ? "/ready" : "/alive", http.path("path").asText(),
                            name + " " + probe);
                }
                List<String> args = strings(container.path("args"));
                assertEquals(Integer.toString(managementPort), after(args, "--management-port"), name + " " + args);
                assertEquals("$(POD_IP)", after(args, "--host"), name + " advertises its pod IP");
                assertEquals("status.podIP", env(container, "POD_IP").at("/valueFrom/fieldRef/fieldPath").asText(), name);
                assertEquals("metadata.name", env(container, "POD_NAME").at("/valueFrom/fieldRef/fieldPath").asText(), name);
                assertEquals(ports.get("remoting"), Integer.valueOf(after(args, "--cluster-port")), name);
                if (name.endsWith("-router")) {
                    assertEquals(ports.get("http"), Integer.valueOf(after(args, "--port")), name);
                } else {
                    assertEquals(ports.get("metrics"), Integer.valueOf(after(args, "--metrics-port")), name);
                }
                if (name.endsWith("-prefill") || name.endsWith("-decode")) {
                    assertEquals(ports.get("kv"), Integer.valueOf(after(args, "--kv-port")), name);
                    assertEquals(ports.get("kv-reply"), Integer.valueOf(after(args, "--kv-reply-port")), name);
                }
            }
        }
    }

    @Test
    void shouldPointServicesAndTheServiceMonitorAtNamedContainerPorts() throws IOException {
        Manifests m = autoscaled();
        JsonNode monitor = m.get("ServiceMonitor", "baton");
        Set<String> monitored = new HashSet<>();
        monitor.at("/spec/endpoints").forEach(e -> {
            monitored.add(e.path("port").asText());
            assertEquals("/metrics", e.path("path").asText());
        });
        assertEquals(Set.of("http", "metrics"), monitored);
        for (JsonNode service : m.kind("Service")) {
            String name = service.at("/metadata/name").asText();
            JsonNode deployment = m.get("Deployment", name);
            assertTrue(matches(service.at("/spec/selector"), deployment.at("/spec/template/metadata/labels")),
                    name + ": the Service selects its Deployment's pods");
            assertTrue(matches(monitor.at("/spec/selector/matchLabels"), service.at("/metadata/labels")),
                    name + ": the ServiceMonitor selects the Service");
            Set<String> containerPorts = new HashSet<>();
            deployment.at("/spec/template/spec/containers/0/ports").forEach(p -> containerPorts.add(p.path("name").asText()));
            service.at("/spec/ports").forEach(p -> assertTrue(containerPorts.contains(p.path("targetPort").asText()),
                    name + " targets " + p + ", not a container port: " + containerPorts));
        }
        assertFalse(defaults().has("ServiceMonitor", "baton"), "ServiceMonitor off by default");
    }

    // --------------------------------------------------------------------------------- cluster formation

    @Test
    void shouldLetThePodsDiscoverEachOtherThroughTheKubernetesApi() throws IOException {
        for (Manifests m : List.of(defaults(), autoscaled())) {
            JsonNode role = m.kind("Role").stream().findFirst().orElseThrow(() -> new AssertionError("no Role"));
            boolean podsReadable = false;
            for (JsonNode rule : role.path("rules")) {
                if (strings(rule.path("apiGroups")).contains("") && strings(rule.path("resources")).contains("pods")
                        && strings(rule.path("verbs")).containsAll(List.of("get", "watch", "list"))) {
                    podsReadable = true;
                }
            }
            assertTrue(podsReadable, "the Role grants get, watch, list on pods: " + role);
            JsonNode binding = m.kind("RoleBinding").stream().findFirst().orElseThrow(() -> new AssertionError("no RoleBinding"));
            assertEquals(role.at("/metadata/name").asText(), binding.at("/roleRef/name").asText());
            assertEquals("Role", binding.at("/roleRef/kind").asText());
            String account = binding.at("/subjects/0/name").asText();
            assertEquals("ServiceAccount", binding.at("/subjects/0/kind").asText());
            assertEquals("llm", binding.at("/subjects/0/namespace").asText());
            assertTrue(m.has("ServiceAccount", account), "the bound account exists: " + account);

            Config conf = clusterConf(m, "cluster.conf");
            assertEquals("bootstrap", conf.getString("baton.cluster.formation"));
            assertEquals(List.of(), conf.getStringList("pekko.cluster.seed-nodes"));
            assertEquals("kubernetes-api",
                    conf.getString("pekko.management.cluster.bootstrap.contact-point-discovery.discovery-method"));
            String portName = conf.getString("pekko.management.cluster.bootstrap.contact-point-discovery.port-name");
            Map<String, String> selector = new HashMap<>();
            for (String term : conf.getString("pekko.discovery.kubernetes-api.pod-label-selector").split(",")) {
                String[] kv = term.split("=", 2);
                selector.put(kv[0].trim(), kv[1].trim());
            }
            for (JsonNode deployment : m.kind("Deployment")) {
                String name = deployment.at("/metadata/name").asText();
                JsonNode pod = deployment.at("/spec/template");
                assertEquals(account, pod.at("/spec/serviceAccountName").asText(), name);
                selector.forEach((k, v) -> assertEquals(v, pod.at("/metadata/labels").path(k).asText(),
                        name + " carries the discovery label " + k));
                List<String> portNames = new ArrayList<>();
                pod.at("/spec/containers/0/ports").forEach(p -> portNames.add(p.path("name").asText()));
                assertTrue(portNames.contains(portName), name + " names its management port " + portName);
            }
        }
    }

    // ------------------------------------------------------------------------------------- configuration

    @Test
    void shouldSetOnlyConfigurationKeysTheCodeKnows() throws IOException {
        Config reference = ConfigFactory.defaultReference();
        for (Manifests m : List.of(defaults(), threePrefillFiveDecode(), autoscaled())) {
            JsonNode data = configMap(m).path("data");
            assertTrue(data.has("cluster.conf"), "cluster.conf in the ConfigMap");
            Set<String> unknown = new TreeSet<>();
            Iterator<String> files = data.fieldNames();
            while (files.hasNext()) {
                String file = files.next();
                Config conf = clusterConf(m, file);
                for (var entry : conf.entrySet()) {
                    if (!reference.hasPathOrNull(entry.getKey())) {
                        unknown.add(file + ": " + entry.getKey());
                    }
                }
            }
            assertEquals(Set.of(), unknown, "keys no reference.conf on the class path declares");
        }
        // each pool's file has the pool's engine settings over the shared file
        Manifests p3d5 = threePrefillFiveDecode();
        assertEquals(8L << 30, clusterConf(p3d5, "prefill.conf").getBytes("baton.engine.kv-cache-bytes"));
        assertEquals(16L << 30, clusterConf(p3d5, "decode.conf").getBytes("baton.engine.kv-cache-bytes"));
        assertEquals("/models/model.gguf", clusterConf(p3d5, "decode.conf").getString("baton.engine.model"));
        for (String pool : List.of("prefill", "decode")) {
            List<String> args = strings(p3d5.get("Deployment", "baton-" + pool).at("/spec/template/spec/containers/0/args"));
            assertEquals("/etc/baton/" + pool + ".conf", after(args, "--config"), pool);
        }
    }

    // -------------------------------------------------------------------------------------------- planner

    /** {@code model.draftPath}: the decode and worker pools draft with it; the prefill pool (which never decodes) not. */
    @Test
    void shouldDraftWithTheDraftModelOnTheDecodeAndWorkerPoolsOnly() throws IOException {
        Manifests m = template(null, Map.of("model.path", "/models/m.gguf", "model.draftPath", "/models/draft.gguf",
                "worker.enabled", "true"));
        for (String pool : List.of("decode.conf", "worker.conf")) {
            Config c = clusterConf(m, pool);
            assertEquals("draft-model", c.getString("baton.engine.speculation.mode"), pool);
            assertEquals("/models/draft.gguf", c.getString("baton.engine.speculation.draft-model"), pool);
        }
        assertFalse(clusterConf(m, "prefill.conf").hasPath("baton.engine.speculation"), "prefill pool");
        assertFalse(clusterConf(defaults(), "decode.conf").hasPath("baton.engine.speculation"), "no draft model");
    }

    /** {@code <pool>.gpus}: that pool's nodes run the cuda backend and ask the device plugin for a GPU each. */
    @Test
    void shouldPutAPoolOnGpusWhenItsValuesAskForThem() throws IOException {
        Manifests m = template(null, Map.of("decode.gpus", "1"));
        assertEquals("cuda", clusterConf(m, "decode.conf").getString("baton.engine.backend"));
        assertFalse(clusterConf(m, "prefill.conf").hasPath("baton.engine.backend"), "the prefill pool stays on the CPU");
        JsonNode limits = m.get("Deployment", "baton-decode").at("/spec/template/spec/containers/0/resources/limits");
        assertEquals(1, limits.path("nvidia.com/gpu").asInt(), limits.toString());
        assertEquals("10Gi", limits.path("memory").asText(), "the pool's own limits stay: " + limits);
        assertTrue(m.get("Deployment", "baton-prefill").at("/spec/template/spec/containers/0/resources/limits")
                .path("nvidia.com/gpu").isMissingNode(), "no GPU asked for the prefill pool");
        Exception two = assertThrows(Exception.class, () -> template(null, Map.of("decode.gpus", "2")));
        assertTrue(two.getMessage().contains("decode.gpus = 2: a node uses one GPU"), two.getMessage());
    }

    static Manifests planned() throws IOException {
        return template(null, Map.of("planner.mode", "act", "planner.profile", "/models/profile.json",
                "planner.objectives.ttft", "300ms", "planner.pools.decode.max", "6"));
    }

    @Test
    void shouldGrantThePlannerScalingRightsOnlyWhenItActs() throws IOException {
        assertFalse(defaults().has("Role", "baton-planner"), "no planner rights while the planner is off");
        Manifests m = planned();
        JsonNode role = m.get("Role", "baton-planner");
        boolean deployments = false;
        boolean pods = false;
        for (JsonNode rule : role.path("rules")) {
            List<String> resources = strings(rule.path("resources"));
            if (strings(rule.path("apiGroups")).contains("apps") && resources.contains("deployments")
                    && resources.contains("deployments/scale") && strings(rule.path("verbs")).containsAll(List.of("get", "patch"))) {
                deployments = true;
            }
            if (strings(rule.path("apiGroups")).contains("") && resources.contains("pods")
                    && strings(rule.path("verbs")).containsAll(List.of("patch", "delete"))) {
                pods = true;
            }
        }
        assertTrue(deployments, "get and patch on deployments and deployments/scale: " + role);
        assertTrue(pods, "patch (the deletion cost) and delete on pods: " + role);
        JsonNode binding = m.get("RoleBinding", "baton-planner");
        assertEquals("baton-planner", binding.at("/roleRef/name").asText());
        String account = m.get("Deployment", "baton-router").at("/spec/template/spec/serviceAccountName").asText();
        assertEquals(account, binding.at("/subjects/0/name").asText(), "bound to the router's account");
        assertEquals("llm", binding.at("/subjects/0/namespace").asText());
    }

    @Test
    void shouldRenderThePlannerIntoTheRoutersConfiguration() throws IOException {
        Manifests m = planned();
        JsonNode router = m.get("Deployment", "baton-router").at("/spec/template/spec/containers/0");
        assertEquals("/etc/baton/router.conf", after(strings(router.path("args")), "--config"));
        String prefix = env(router, "BATON_K8S_FULLNAME").path("value").asText();
        for (String pool : List.of("prefill", "decode")) {
            assertTrue(m.has("Deployment", prefix + "-" + pool), "the connector's Deployment " + prefix + "-" + pool);
        }
        PlannerSettings s = PlannerSettings.from(clusterConf(m, "router.conf").withFallback(ConfigFactory.defaultReference()));
        assertEquals(Mode.ACT, s.mode());
        assertEquals("kubernetes", s.connector());
        assertEquals(Path.of("/models/profile.json"), s.profile());
        assertEquals(300.0, s.objectives().ttftMs());
        assertEquals(new PlannerSettings.Bounds(1, 6), s.bounds().get(Pool.DECODE));
        assertEquals(new PlannerSettings.Bounds(0, 0), s.bounds().get(Pool.WORKER), "the chart runs no worker pool");
        // the router's file holds the shared one
        assertEquals("bootstrap", clusterConf(m, "router.conf").getString("baton.cluster.formation"));
        assertEquals(Mode.OFF, PlannerSettings.from(clusterConf(defaults(), "router.conf")
                .withFallback(ConfigFactory.defaultReference())).mode());
    }

    @Test
    void shouldRefuseAPlannerAndAnAutoscalerOnOnePool() {
        Exception e = assertThrows(Exception.class, () -> template(null, Map.of("planner.mode", "act",
                "planner.profile", "/models/profile.json", "prefill.autoscaling.enabled", "true")));
        assertTrue(e.getMessage().contains("disable prefill.autoscaling"), e.getMessage());
    }

    @Test
    void shouldGiveNodesLongerToStopThanTheirDrain() throws IOException {
        for (Manifests m : List.of(defaults(), threePrefillFiveDecode(), autoscaled())) {
            Duration drain = clusterConf(m, "cluster.conf").getDuration("baton.node.drain-timeout");
            for (JsonNode deployment : m.kind("Deployment")) {
                JsonNode grace = deployment.at("/spec/template/spec/terminationGracePeriodSeconds");
                assertTrue(grace.isInt(), deployment.at("/metadata/name").asText() + " sets terminationGracePeriodSeconds");
                assertTrue(grace.asInt() > drain.toSeconds(), deployment.at("/metadata/name").asText() + ": grace "
                        + grace.asInt() + " s, drain " + drain);
            }
        }
        Manifests longer = template(null, Map.of("drain.timeoutSeconds", "300"));
        assertEquals(Duration.ofSeconds(300), clusterConf(longer, "cluster.conf").getDuration("baton.node.drain-timeout"));
        assertEquals(330, longer.get("Deployment", "baton-decode").at("/spec/template/spec/terminationGracePeriodSeconds").asInt());
    }

    // -------------------------------------------------------------------------------- disruption, scaling

    @Test
    void shouldGiveEveryPoolADisruptionBudgetAndAnAutoscaler() throws IOException {
        Manifests m = autoscaled();
        String ratioMetric = adapterMetricName();
        for (String role : List.of("router", "prefill", "decode", "worker")) {
            JsonNode pdb = m.get("PodDisruptionBudget", "baton-" + role);
            JsonNode pod = m.get("Deployment", "baton-" + role).at("/spec/template/metadata/labels");
            assertTrue(matches(pdb.at("/spec/selector/matchLabels"), pod), role + ": the budget selects the pool's pods");
            JsonNode others = m.kind("Deployment").stream().filter(d -> !d.at("/metadata/name").asText().endsWith("-" + role))
                    .map(d -> d.at("/spec/template/metadata/labels")).filter(l -> matches(pdb.at("/spec/selector/matchLabels"), l))
                    .findFirst().orElse(null);
            assertEquals(null, others, role + ": the budget selects no other pool's pods");
        }
        for (String pool : POOLS) {
            JsonNode hpa = m.get("HorizontalPodAutoscaler", "baton-" + pool);
            assertEquals("autoscaling/v2", hpa.path("apiVersion").asText());
            assertEquals("Deployment", hpa.at("/spec/scaleTargetRef/kind").asText());
            assertEquals("baton-" + pool, hpa.at("/spec/scaleTargetRef/name").asText());
            assertEquals("Pods", hpa.at("/spec/metrics/0/type").asText());
            assertEquals(ratioMetric, hpa.at("/spec/metrics/0/pods/metric/name").asText(),
                    "the autoscaler reads the metric the adapter rule serves");
            assertTrue(hpa.at("/spec/maxReplicas").asInt() >= hpa.at("/spec/minReplicas").asInt());
        }
        assertFalse(m.has("HorizontalPodAutoscaler", "baton-router"));
        Manifests d = defaults();
        assertTrue(d.kind("HorizontalPodAutoscaler").isEmpty(), "no autoscaler unless asked for");
        for (String role : List.of("router", "prefill", "decode")) {
            assertNotNull(d.get("PodDisruptionBudget", "baton-" + role));
        }
    }

    // ------------------------------------------------------------------------------ metrics the code has

    @Test
    void shouldChartOnlyMetricsTheCodeExports() throws IOException {
        Set<String> meters = meterNames();
        assertTrue(meters.contains("baton.queue.compute.ratio") && meters.contains("baton.router.time.to.first.token"),
                "meter names found in the sources: " + meters);
        JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
        List<String> expressions = new ArrayList<>();
        dashboard.findValues("expr").forEach(e -> expressions.add(e.asText()));
        dashboard.at("/templating/list").forEach(v -> expressions.add(v.path("definition").asText()));
        assertTrue(expressions.size() > 10, "dashboard queries: " + expressions);
        Set<String> unknown = new TreeSet<>();
        Set<String> used = new TreeSet<>();
        for (String expr : expressions) {
            for (String series : seriesIn(expr)) {
                used.add(series);
                if (meterOf(series, meters) == null) {
                    unknown.add(series);
                }
            }
        }
        assertEquals(Set.of(), unknown, "dashboard series no meter in the code exports");
        for (String needed : List.of("baton_router_time_to_first_token_seconds_bucket",
                "baton_router_time_per_output_token_seconds_bucket", "baton_kv_blocks", "baton_prefix_cache_hit_blocks_total",
                "baton_kv_transfer_bytes_total", "baton_queue_time_seconds_sum", "baton_step_time_seconds_sum")) {
            assertTrue(used.contains(needed), "the dashboard charts " + needed);
        }
        JsonNode rule = YAML.readTree(ADAPTER_VALUES.toFile()).at("/rules/custom/0");
        for (String series : seriesIn(rule.path("seriesQuery").asText() + " " + rule.path("metricsQuery").asText())) {
            assertNotNull(meterOf(series, meters), "adapter rule series " + series);
        }
    }

    /** The metric name the adapter rule serves (the HPAs must ask for it). */
    static String adapterMetricName() throws IOException {
        String as = YAML.readTree(ADAPTER_VALUES.toFile()).at("/rules/custom/0/name/as").asText();
        assertFalse(as.isEmpty(), "the adapter rule names its metric");
        return as;
    }

    /** Metric names in a PromQL expression: baton_* identifiers not followed by "(" (no functions). */
    static Set<String> seriesIn(String expr) {
        Set<String> out = new TreeSet<>();
        Matcher m = Pattern.compile("\\b(baton_[a-z0-9_]+)\\b").matcher(expr);
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    /**
     * The meter a Prometheus series comes from: Micrometer writes {@code a.b.c} as {@code a_b_c}, then the base
     * unit ({@code _seconds}, {@code _bytes}, {@code _blocks}, ...) unless the name ends with it, then
     * {@code _total} for counters, {@code _bucket}/{@code _sum}/{@code _count}/{@code _max} for timers.
     */
    static String meterOf(String series, Set<String> meters) {
        String name = series;
        for (String suffix : List.of("_bucket", "_sum", "_count", "_max")) {
            if (name.endsWith(suffix)) {
                name = name.substring(0, name.length() - suffix.length());
                break;
            }
        }
        List<String> candidates = new ArrayList<>(List.of(name));
        if (name.endsWith("_total")) {
            name = name.substring(0, name.length() - "_total".length());
            candidates.add(name);
        }
        for (String unit : List.of("_seconds", "_bytes", "_blocks", "_tokens")) {
            if (name.endsWith(unit)) {
                candidates.add(name.substring(0, name.length() - unit.length()));
            }
        }
        for (String c : candidates) {
            String dotted = c.replace('_', '.');
            if (meters.contains(dotted)) {
                return dotted;
            }
        }
        return null;
    }

    /** Every meter name literal ({@code "baton.x.y"}) in the modules' main sources. */
    static Set<String> meterNames() throws IOException {
        Set<String> names = new TreeSet<>();
        Pattern literal = Pattern.compile("\"(baton\\.[a-z0-9.]+[a-z0-9])\"");
        for (String module : List.of("engine", "kv-transfer", "prefill-node", "decode-node", "router", "cli", "common")) {
            Path src = NodeProcess.root().resolve(module).resolve("src/main/java");
            try (Stream<Path> files = Files.walk(src)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                    Matcher m = literal.matcher(Files.readString(f));
                    while (m.find()) {
                        names.add(m.group(1));
                    }
                }
            }
        }
        return names;
    }

    // ---------------------------------------------------------------------------------------- helpers

    static JsonNode configMap(Manifests m) {
        return m.get("ConfigMap", "baton-config");
    }

    /**
     * One file of the ConfigMap parsed as a node reads it: all of its files written to a directory (as the
     * volume mounts them), then the file parsed from there, so that {@code include "cluster.conf"} resolves.
     */
    static Config clusterConf(Manifests m, String file) throws IOException {
        Path dir = Files.createTempDirectory("baton-chart-config");
        try {
            JsonNode data = configMap(m).path("data");
            Iterator<Map.Entry<String, JsonNode>> it = data.fields();
            while (it.hasNext()) {
                var e = it.next();
                Files.writeString(dir.resolve(e.getKey()), e.getValue().asText());
            }
            if (!data.has(file)) {
                fail("no " + file + " in the ConfigMap: " + data.properties());
            }
            return ConfigFactory.parseFile(dir.resolve(file).toFile()).resolve();
        } finally {
            try (Stream<Path> files = Files.list(dir)) {
                for (Path p : files.toList()) {
                    Files.delete(p);
                }
            }
            Files.delete(dir);
        }
    }

    static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    static String after(List<String> args, String flag) {
        int i = args.indexOf(flag);
        assertTrue(i >= 0 && i + 1 < args.size(), flag + " in " + args);
        return args.get(i + 1);
    }

    static JsonNode env(JsonNode container, String name) {
        for (JsonNode e : container.path("env")) {
            if (name.equals(e.path("name").asText())) {
                return e;
            }
        }
        throw new AssertionError("no env " + name + " in " + container.path("env"));
    }

    /** Whether every label of {@code selector} is on {@code labels}. */
    static boolean matches(JsonNode selector, JsonNode labels) {
        Iterator<Map.Entry<String, JsonNode>> it = selector.fields();
        boolean any = false;
        while (it.hasNext()) {
            var e = it.next();
            any = true;
            if (!e.getValue().asText().equals(labels.path(e.getKey()).asText(null))) {
                return false;
            }
        }
        return any;
    }
}
