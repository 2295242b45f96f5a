// Package reconcile keeps the BBS in step with the cell's containers, as the rep's generator
// and harmonizer do (they cannot be built here: they need code.cloudfoundry.org/operationq,
// which the module proxy does not serve). Every container lifecycle event, and a periodic
// bulk pass over containers and the BBS's ActualLRPs and Tasks for this cell, becomes an
// operation keyed by container guid; a sliding queue runs at most one operation per key and
// keeps only the newest pending one. Operations turn container states into BBS calls:
//
//	Reserved            -> ClaimActualLRP, DesiredLRPByProcessGuid, RunContainer
//	Initializing/Created-> ClaimActualLRP
//	Running             -> StartActualLRP (net info from the container)
//	Completed, stopped  -> RemoveActualLRP, DeleteContainer
//	Completed, failed   -> CrashActualLRP (the BBS applies its restart policy), DeleteContainer
//	ActualLRP, no container -> RemoveActualLRP (and RemoveEvacuatingActualLRP)
//
// While the cell evacuates, the Evacuate* calls replace them and a Running container is
// deleted once the BBS says its replacement runs elsewhere. Tasks are not run on unik cells:
// a task placed here is failed with a reason.
package reconcile
