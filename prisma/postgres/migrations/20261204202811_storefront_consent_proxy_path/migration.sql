-- AlterTable
ALTER TABLE "Shop" ADD COLUMN     "proxyPath" TEXT;

-- CreateTable
CREATE TABLE "AnonymousCount" (
    "id" SERIAL NOT NULL,
    "shopId" INTEGER NOT NULL,
    "day" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "resourceId" TEXT NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "AnonymousCount_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "AnonymousCount_shopId_day_type_resourceId_key" ON "AnonymousCount"("shopId", "day", "type", "resourceId");

-- AddForeignKey
ALTER TABLE "AnonymousCount" ADD CONSTRAINT "AnonymousCount_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

