"""The tool tier of the drag engines: what sits on top of the libraries (dragcore, draggan,
freedrag, stabledrag) and the repository's registry, ranges and Hub guard (checkpoints, limits, hubguard).

It owns the engine registry (`drags.engines`: name -> label, config class, session class, the
one table the app, the runner, the benchmarks and the replay of an edit JSON look engines up in)
and the command line the engines share (`drags.drag_cli`, behind `python -m draggan`,
`python -m freedrag` and `python -m stabledrag`, whose `__main__` modules are thin entry points calling it).

A library package never imports `drags`; `drags` imports the libraries at the top of its modules."""
