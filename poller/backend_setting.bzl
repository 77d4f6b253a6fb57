"""The build setting that chooses poller's default backend: --//poller:backend=NAME."""

BACKENDS = ["epoll", "poll", "io_uring", "kqueue", "iocp"]

def _backend_setting_impl(ctx):
    value = ctx.build_setting_value
    if value != "auto" and value not in BACKENDS:
        fail("--{}={} is not a poller backend; choose auto or one of: {}".format(
            ctx.label,
            value,
            ", ".join(BACKENDS),
        ))
    return []

backend_setting = rule(
    implementation = _backend_setting_impl,
    build_setting = config.string(flag = True),
    doc = "auto (the platform's default backend) or the name of a backend to make the default.",
)
