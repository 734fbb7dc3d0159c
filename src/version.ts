/** The Vigil version, recorded in journal headers and printed by `vigil --version`. Pure constant. */
export const VIGIL_VERSION = "0.1.0";
