"""The build setting that chooses poller's default backend: --//poller:backend=NAME."""

load("//backends:backends.bzl", "BACKEND_NAMES")

def _backend_setting_impl(ctx):
    value = ctx.build_setting_value
    if value != "auto" and value not in BACKEND_NAMES:
        fail(("--{}={} is not a poller backend; choose auto or one of: {} (from another " +
              "workspace the flag is --@poller//poller:backend)").format(
            ctx.label,
            value,
            ", ".join(BACKEND_NAMES),
        ))
    return []

backend_setting = rule(
    implementation = _backend_setting_impl,
    build_setting = config.string(flag = True),
    doc = "auto (the platform's default backend) or the name of a backend to make the default.",
)
