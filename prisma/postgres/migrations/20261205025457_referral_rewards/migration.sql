-- AlterTable
ALTER TABLE "Message" ADD COLUMN     "referrerRewardKind" TEXT,
ADD COLUMN     "referrerRewardValue" INTEGER;

