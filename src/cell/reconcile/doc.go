// Package reconcile keeps the BBS in step with the cell's containers, as the rep's generator
// and harmonizer do (they cannot be built here: they need code.cloudfoundry.org/operationq,
// which the module proxy does not serve). Every container lifecycle event, and a periodic
// bulk pass over containers and the BBS's ActualLRPs and Tasks for this cell, becomes an
// operation keyed by container guid; a sliding queue runs at most one operation per key and
// keeps only the newest pending one. Operations turn container states into BBS calls:
//
//	Reserved            -> ClaimActualLRP, DesiredLRPByProcessGuid, RunContainer
//	                       (a failed claim, whatever the error: DeleteContainer)
//	Initializing/Created-> ClaimActualLRP (refused or gone: DeleteContainer)
//	Running             -> StartActualLRP (net info from the container)
//	Completed, stopped  -> RemoveActualLRP, DeleteContainer
//	Completed, failed   -> CrashActualLRP (the BBS applies its restart policy), DeleteContainer
//	ActualLRP, no container -> RemoveActualLRP (and RemoveEvacuatingActualLRP)
//
// While the cell evacuates, the Evacuate* calls replace them and a Running container is
// deleted once the BBS says its replacement runs elsewhere. Tasks, as Diego's rep does:
//
//	Reserved..Running   -> StartTask; the first time: TaskByGuid, RunContainer (fails:
//	                       CompleteTask failed "failed to run container"); cancelled or
//	                       gone: DeleteContainer
//	Completed           -> CompleteTask(failed, reason), DeleteContainer; a BBS that cannot
//	                       be reached keeps the container for the next pass, so a task's
//	                       real result is never replaced by "task container does not exist"
//	Task, no container  -> CompleteTask failed "task container does not exist"
package reconcile
