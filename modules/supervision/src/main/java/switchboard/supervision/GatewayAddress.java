package switchboard.supervision;

import picocli.CommandLine;
import picocli.CommandLine.Option;

/** The options of every command that talks to a running gateway: where it is, and its token. */
final class GatewayAddress {
  @Option(names = "--url", paramLabel = "URL", defaultValue = "http://127.0.0.1:8080",
      description = "the gateway's HTTP address (default: ${DEFAULT-VALUE})")
  String url;

  @Option(names = "--token", paramLabel = "TOKEN", defaultValue = "${env:SWITCHBOARD_HTTP_TOKEN}",
      description = "bearer token when the gateway needs one (default: $SWITCHBOARD_HTTP_TOKEN)")
  String token;

  GatewayClient client(CommandLine commandLine) {
    return new GatewayClient(commandLine, url, token);
  }
}
