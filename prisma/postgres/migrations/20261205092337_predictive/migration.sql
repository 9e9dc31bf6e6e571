-- CreateTable
CREATE TABLE "PredictionFit" (
    "id" SERIAL NOT NULL,
    "shopId" INTEGER NOT NULL,
    "fittedAt" TIMESTAMP(3) NOT NULL,
    "cutoff" TIMESTAMP(3) NOT NULL,
    "status" TEXT NOT NULL,
    "message" TEXT,
    "bgnbd" TEXT,
    "gammaGamma" TEXT,
    "logLikelihood" DOUBLE PRECISION,
    "customers" INTEGER NOT NULL DEFAULT 0,
    "repeatCustomers" INTEGER NOT NULL DEFAULT 0,
    "calibration" TEXT,
    "tiers" TEXT,
    "durationMs" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "PredictionFit_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CustomerPrediction" (
    "customerId" INTEGER NOT NULL,
    "shopId" INTEGER NOT NULL,
    "fitId" INTEGER NOT NULL,
    "probabilityActive" DOUBLE PRECISION NOT NULL,
    "orders7" DOUBLE PRECISION NOT NULL,
    "orders30" DOUBLE PRECISION NOT NULL,
    "orders60" DOUBLE PRECISION NOT NULL,
    "orders90" DOUBLE PRECISION NOT NULL,
    "orders180" DOUBLE PRECISION NOT NULL,
    "orders365" DOUBLE PRECISION NOT NULL,
    "spendPerOrder" INTEGER NOT NULL,
    "value12m" INTEGER NOT NULL,
    "valueTier" TEXT NOT NULL,
    "nextOrderAt" TIMESTAMP(3),
    "computedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "CustomerPrediction_pkey" PRIMARY KEY ("customerId")
);

-- CreateIndex
CREATE INDEX "PredictionFit_shopId_fittedAt_idx" ON "PredictionFit"("shopId", "fittedAt");

-- CreateIndex
CREATE INDEX "CustomerPrediction_shopId_value12m_idx" ON "CustomerPrediction"("shopId", "value12m");

-- AddForeignKey
ALTER TABLE "PredictionFit" ADD CONSTRAINT "PredictionFit_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CustomerPrediction" ADD CONSTRAINT "CustomerPrediction_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

