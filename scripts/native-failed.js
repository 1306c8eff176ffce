// Run by `npm run build:native` when node-gyp could not build the native backend (no compiler, no Node
// headers, unsupported platform...). Prints one warning and exits 0 so that `npm install` still succeeds:
// gtn then runs on its (slower) plain TypeScript backend.
console.warn(
  '\n[gtn] WARNING: the native backend (native/build/Release/gtn_native.node) could not be built; ' +
    'gtn will use the slower TypeScript backend. To retry: install a C++17 compiler, Python 3 and make, then run ' +
    '`npm run build:native` (see the node-gyp output above for the cause). `gtn doctor` shows the backend in use.\n',
);
process.exit(0);
