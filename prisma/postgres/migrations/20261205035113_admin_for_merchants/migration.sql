-- AlterTable
ALTER TABLE "Shop" ADD COLUMN     "appEmbed" TEXT,
ADD COLUMN     "appEmbedCheckedAt" TIMESTAMP(3),
ADD COLUMN     "backfillAttempts" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "backfillRetryAt" TIMESTAMP(3),
ADD COLUMN     "segmentReviewedAt" TIMESTAMP(3),
ADD COLUMN     "setupDismissedAt" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "Message" ADD COLUMN     "referrerRewardKind" TEXT,
ADD COLUMN     "referrerRewardValue" INTEGER;

-- AlterTable
ALTER TABLE "DataExport" ADD COLUMN     "sentAt" TIMESTAMP(3),
ADD COLUMN     "sentBy" TEXT;

