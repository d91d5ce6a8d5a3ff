"""An MLLP listener in a process of its own, for the crash test: the centre on ``url`` with the
test world's fixed clock; the bound port is written to ``port_file`` once it listens.

``python -m tests.integration.hl7.listener_process URL PORT_FILE``
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from msinfusion.adapters.hl7.mllp import bound_port, start_mllp_server
from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory
from msinfusion.adapters.web import Settings
from msinfusion.bootstrap import build_centre
from tests.e2e.api.world import Clock


async def serve(url: str, port_file: Path) -> None:
    clock = Clock()
    centre = build_centre(
        Settings(), uow_factory=sql_unit_of_work_factory(create_engine_for(url)), clock=clock
    )
    server = await start_mllp_server(centre.monitoring, host="127.0.0.1", port=0, clock=clock)
    written = port_file.with_suffix(".tmp")
    written.write_text(str(bound_port(server)))
    written.replace(port_file)  # whole, or not at all
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], Path(sys.argv[2])))
