package dev.baton.cli.planner;

import com.typesafe.config.Config;
import dev.baton.planner.NodeConnector;
import dev.baton.planner.PlannerConfigException;
import dev.baton.planner.PlannerSettings;

/**
 * The node connector of {@code baton.planner.connector}: {@link LocalConnector}, {@link SshConnector} or
 * {@link KubernetesConnector}.
 */
public final class Connectors {

    private Connectors() {}

    /**
     * Creates the connector {@code settings} names, configured from its block of {@code root}
     * ({@code baton.planner.local}, {@code .ssh} or {@code .kubernetes}).
     *
     * @param settings the planner's settings
     * @param root     the router's whole configuration (the connector's block, {@code baton.node.drain-timeout})
     * @param context  what the router knows about itself
     * @throws PlannerConfigException naming the key when the connector's configuration is bad or unusable (a missing
     *                                inventory, an unknown Deployment prefix)
     */
    public static NodeConnector create(PlannerSettings settings, Config root, ConnectorContext context) {
        return switch (settings.connector()) {
            case "local" -> LocalConnector.create(root, context);
            case "ssh" -> SshConnector.create(root);
            case "kubernetes" -> KubernetesConnector.create(root, System.getenv());
            default -> throw new PlannerConfigException(PlannerSettings.PATH + ".connector: '" + settings.connector()
                    + "' is not one of local, ssh, kubernetes");
        };
    }
}
