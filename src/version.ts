/** This package's version (package.json's; a unit test keeps them equal). Stamped on consumers. */
export const JETROUTE_VERSION = "0.1.0";
