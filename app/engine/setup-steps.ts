/** The home's setup guide: its steps in order, and the days the home's figures cover. Pure. */
export const SETUP_STEPS = ["history", "embed", "segment", "message"] as const;
export type SetupStep = (typeof SETUP_STEPS)[number];
export const OVERVIEW_DAYS = 30;
