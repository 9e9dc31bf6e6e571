-- CreateTable
CREATE TABLE "PredictionFit" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "shopId" INTEGER NOT NULL,
    "fittedAt" DATETIME NOT NULL,
    "cutoff" DATETIME NOT NULL,
    "status" TEXT NOT NULL,
    "message" TEXT,
    "bgnbd" TEXT,
    "gammaGamma" TEXT,
    "logLikelihood" REAL,
    "customers" INTEGER NOT NULL DEFAULT 0,
    "repeatCustomers" INTEGER NOT NULL DEFAULT 0,
    "calibration" TEXT,
    "tiers" TEXT,
    "durationMs" INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT "PredictionFit_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "CustomerPrediction" (
    "customerId" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "shopId" INTEGER NOT NULL,
    "fitId" INTEGER NOT NULL,
    "probabilityActive" REAL NOT NULL,
    "orders7" REAL NOT NULL,
    "orders30" REAL NOT NULL,
    "orders60" REAL NOT NULL,
    "orders90" REAL NOT NULL,
    "orders180" REAL NOT NULL,
    "orders365" REAL NOT NULL,
    "spendPerOrder" INTEGER NOT NULL,
    "value12m" INTEGER NOT NULL,
    "valueTier" TEXT NOT NULL,
    "nextOrderAt" DATETIME,
    "computedAt" DATETIME NOT NULL,
    CONSTRAINT "CustomerPrediction_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "PredictionFit_shopId_fittedAt_idx" ON "PredictionFit"("shopId", "fittedAt");

-- CreateIndex
CREATE INDEX "CustomerPrediction_shopId_value12m_idx" ON "CustomerPrediction"("shopId", "value12m");

