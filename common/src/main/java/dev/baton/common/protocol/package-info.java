/**
 * Messages that cross nodes (Pekko, Jackson CBOR): the control plane of docs/design.md §3.
 *
 * <ul>
 *   <li>{@link dev.baton.common.protocol.CborSerializable}: marker bound to Jackson CBOR.</li>
 *   <li>{@link dev.baton.common.protocol.NodeProtocol}: requests to a worker node, cancel, load reports.</li>
 *   <li>{@link dev.baton.common.protocol.GenerationEvent}: what a node streams back for a request.</li>
 *   <li>{@link dev.baton.common.protocol.SamplingSpec}: sampling parameters on the wire.</li>
 * </ul>
 */
package dev.baton.common.protocol;
