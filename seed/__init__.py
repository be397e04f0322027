"""Seed data: chain definitions, zones and anchor firms as human-editable files, their loader,
and a deterministic synthetic firm generator (示例数据). See seed/README.md for the file formats."""
