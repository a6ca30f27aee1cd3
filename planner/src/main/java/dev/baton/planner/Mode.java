package dev.baton.planner;

/** What the planner does with its decisions. */
public enum Mode {
    /** No planner runs. */
    OFF,
    /** Decides and explains (log, {@code GET /v1/planner}, meters) but starts and stops nothing. */
    ADVISE,
    /** Decides and acts through the connector: starts nodes, drains and stops them. */
    ACT
}
